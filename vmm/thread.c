/* thread.c - host thread placement and CPU-time accounting. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? err_set("pin to CPU %d: %s", cpu, strerror(errno)) : 0;
}

int pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(t, sizeof(set), &set) ? err_set("pin to CPU %d failed", cpu) : 0;
}

int cpu_for(const struct cpu_list *list, int i)
{
	return list->n ? list->cpu[i % list->n] : -1;
}

void task_affinity(pid_t tid, char *buf, size_t len)
{
	cpu_set_t set;
	size_t n = 0;

	buf[0] = 0;
	if (sched_getaffinity(tid, sizeof(set), &set) < 0) {
		snprintf(buf, len, "?");
		return;
	}
	/* Ranges as Linux prints them: 0-1,3 */
	for (int c = 0; c < CPU_SETSIZE && n + 16 < len; c++) {
		int last = c;

		if (!CPU_ISSET(c, &set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		n += (size_t)snprintf(buf + n, len - n, n ? ",%d" : "%d", c);
		if (last > c)
			n += (size_t)snprintf(buf + n, len - n, "-%d", last);
		c = last;
	}
}

int task_cpu_open(pid_t tid)
{
	char path[64];
	int fd;

	/* schedstat's first field is the time spent on a CPU, in ns: a thread of this process, else
	 * the main thread of another process (a device process). */
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", tid, tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return fd;
}

uint64_t task_cpu_ns(int fd)
{
	char buf[96];
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
