/* sandbox.c - least privilege for a device process: it keeps only its disk's file descriptors and,
 * after its backend is open, runs under a seccomp filter that allows only the system calls of its
 * serving loop. Anything else kills it (SIGSYS), which the VMM reports as a dead device process. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "virtio.h"

#define MAX_FD 4096

void sandbox_close_fds(const int *keep, int nkeep)
{
	for (int fd = 3; fd < MAX_FD; fd++) {
		bool kept = false;

		for (int i = 0; i < nkeep; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd); /* EBADF for most: cheaper than reading /proc/self/fd */
	}
}

/* The serving loop: ring hand-off and wake-ups (read/write on eventfds, poll), the backends
 * (io_uring_enter, preadv/pwritev, fdatasync), time, and what libc itself may need to exit or
 * report (write to stderr, munmap/brk/madvise on free, futex, signals' return, and the restart of
 * a poll interrupted by io_uring's task-work signal). */
static const int allowed[] = {
	SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_preadv, SYS_pwritev, SYS_preadv2,
	SYS_pwritev2, SYS_fdatasync, SYS_fsync, SYS_io_uring_enter, SYS_poll, SYS_ppoll,
	SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield, SYS_futex,
	SYS_getpid, SYS_gettid, SYS_munmap, SYS_brk, SYS_madvise, SYS_rt_sigreturn,
	SYS_rt_sigprocmask, SYS_restart_syscall, SYS_exit, SYS_exit_group, SYS_close,
};

#define NALLOWED (int)(sizeof(allowed) / sizeof(allowed[0]))

int sandbox_enter(enum sandbox_role role)
{
	struct sock_filter f[4 + 2 * NALLOWED + 1];
	struct sock_fprog prog = { .len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f };
	int n = 0;

	(void)role;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (int i = 0; i < NALLOWED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set("no_new_privs: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_set("seccomp: %s", strerror(errno));
	return 0;
}
