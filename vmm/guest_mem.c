/* guest_mem.c - guest RAM on a memfd, and the one checked guest-physical -> host translation. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

int gmem_init(struct guest_mem *m, uint64_t size)
{
	m->host = NULL;
	m->size = 0;
	m->fd = memfd_create("exitless-guest-ram", MFD_CLOEXEC);
	if (m->fd < 0)
		return err_set("memfd_create: %s", strerror(errno));
	if (ftruncate(m->fd, (off_t)size) < 0) {
		err_set("cannot size guest RAM to %llu bytes: %s", (unsigned long long)size,
			strerror(errno));
		goto close_fd;
	}
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->host == MAP_FAILED) {
		err_set("cannot map guest RAM: %s", strerror(errno));
		m->host = NULL;
		goto close_fd;
	}
	m->size = size;
	return 0;
close_fd:
	close(m->fd);
	m->fd = -1;
	return -1;
}

void gmem_destroy(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->host = NULL;
	m->fd = -1;
	m->size = 0;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	/* Written so that no sum can overflow: len <= size first, then gpa <= size - len. */
	if (!m->host || len > m->size || gpa > m->size - len)
		return NULL;
	return m->host + gpa;
}
