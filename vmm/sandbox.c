/* sandbox.c - least privilege: after set-up every thread of the VMM (vCPU, IOCore, emulation) and every
 * device process runs under a seccomp allowlist of the system calls its role uses, as Firecracker does per
 * thread, so a guest that subverts the device model cannot make arbitrary system calls. A call outside the
 * list traps (SIGSYS): the thread reports its role and the call, and the VMM exits 125 (a device process:
 * it dies, and the VMM reports a dead device process). A device process also keeps only its disk's file
 * descriptors. Anonymous memory may be mapped or protected, never executable. */
#include <errno.h>
#include <pthread.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "virtio.h"

#define MAX_FD 4096
#define MAX_RULES 96

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

/* What every role needs: the ring hand-off and wake-ups (eventfds), futexes (locks, joins), time, the
 * return from a signal handler (a vCPU's kick, io_uring's task work), memory for malloc and thread
 * stacks (no PROT_EXEC: see the argument rules below), and leaving. */
static const int common[] = {
	SYS_read, SYS_write, SYS_futex, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield,
	SYS_getpid, SYS_gettid, SYS_munmap, SYS_brk, SYS_madvise, SYS_rt_sigreturn, SYS_rt_sigprocmask,
	SYS_restart_syscall, SYS_exit, SYS_exit_group, SYS_close,
};

/* Per role. vCPU: KVM_RUN, a UART's interrupt line and the register dump of a crash (the ioctl numbers are
 * checked below), the KVM statistics and schedstat reads (pread64 on fds opened at set-up), kicking
 * another vCPU (tgkill), and on the main thread the end of the run: reaping device processes, joining
 * threads. The IOCore: its epoll wait, and for inline contexts their backends and the final drain's poll.
 * Emulation threads and device processes: the backends (io_uring, preadv/pwritev, fdatasync, the null
 * device's timer) and their idle poll. */
static const int role_vcpu[] = { SYS_ioctl, SYS_pread64, SYS_tgkill, SYS_wait4, SYS_newfstatat, SYS_fstat,
				 SYS_lseek, SYS_mmap, SYS_mprotect };
static const int role_iocore[] = { SYS_epoll_wait, SYS_epoll_pwait, SYS_io_uring_enter, SYS_pread64,
				   SYS_preadv, SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_pwrite64, SYS_fdatasync,
				   SYS_fsync, SYS_poll, SYS_ppoll, SYS_timerfd_settime, SYS_mmap, SYS_mprotect };
static const int role_emu[] = { SYS_io_uring_enter, SYS_pread64, SYS_pwrite64, SYS_preadv, SYS_pwritev,
				SYS_preadv2, SYS_pwritev2, SYS_fdatasync, SYS_fsync, SYS_poll, SYS_ppoll,
				SYS_timerfd_settime, SYS_mmap, SYS_mprotect };

/* A build with AddressSanitizer and UndefinedBehaviorSanitizer (SANITIZE=1): what their runtime calls on any
 * thread, its alternate signal stack at thread start and exit, and, to print a report, the executable's path
 * and /proc/self/maps (it tries its symbolizer too: that fails, and the report still names file:line). Only in
 * such builds: a production VMM never allows them. LeakSanitizer is off in build/vmm (main.c). */
#if defined(__SANITIZE_ADDRESS__)
static const int sanitizer_calls[] = { SYS_sigaltstack, SYS_readlink, SYS_open, SYS_openat, SYS_fcntl,
				       SYS_pipe2 };
#else
static const int sanitizer_calls[] = { -1 };
#endif

/* The only ioctls a vCPU thread makes after set-up: virtio-pci adds the MSI routes the guest programs
 * (KVM_SET_GSI_ROUTING) and moves the notify ioeventfds with a BAR (KVM_IOEVENTFD). */
static const unsigned long vcpu_ioctls[] = { KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE, TCGETS,
					     KVM_SET_GSI_ROUTING, KVM_IOEVENTFD };

static const struct {
	const char *name;
	const int *calls;
	int n;
} roles[] = {
	[SANDBOX_VCPU] = { "vcpu", role_vcpu, sizeof(role_vcpu) / sizeof(int) },
	[SANDBOX_IOCORE] = { "iocore", role_iocore, sizeof(role_iocore) / sizeof(int) },
	[SANDBOX_EMU_THREAD] = { "emulation", role_emu, sizeof(role_emu) / sizeof(int) },
	[SANDBOX_DEVICE_PROCESS] = { "device process", role_emu, sizeof(role_emu) / sizeof(int) },
};

static __thread const char *my_role;

/* SIGSYS from a trapped call: one line naming the thread's role and the call, then the whole VMM exits. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	(void)sig, (void)uc;
	n = snprintf(msg, sizeof(msg), "vmm: seccomp: system call %d is outside the allowlist of the %s thread; "
				       "stopping\n", si->si_syscall, my_role ? my_role : "?");
	if (write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	_exit(VMM_EXIT_FAILURE);
}

struct bpf {
	struct sock_filter f[MAX_RULES * 4];
	int n;
};

static void emit(struct bpf *b, struct sock_filter s)
{
	BUG_ON(b->n >= (int)(sizeof(b->f) / sizeof(b->f[0])));
	b->f[b->n++] = s;
}

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static void allow(struct bpf *b, int nr)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(b, (struct sock_filter)ALLOW);
}

/* nr is allowed when the low word of argument `arg` has none of `bits` set. */
static void allow_without_bits(struct bpf *b, int nr, int arg, uint32_t bits)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 4));
	emit(b, (struct sock_filter)ARG_LO(arg));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bits, 1, 0));
	emit(b, (struct sock_filter)ALLOW);
	emit(b, (struct sock_filter)LD_NR);
}

/* ioctl is allowed for the listed request numbers only. */
static void allow_ioctls(struct bpf *b, const unsigned long *req, int n)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (unsigned)(2 + 2 * n)));
	emit(b, (struct sock_filter)ARG_LO(1));
	for (int i = 0; i < n; i++) {
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)req[i], 0, 1));
		emit(b, (struct sock_filter)ALLOW);
	}
	emit(b, (struct sock_filter)LD_NR);
}

static void build(struct bpf *b, enum sandbox_role role)
{
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(b, (struct sock_filter)LD_NR);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		allow(b, common[i]);
	for (size_t i = 0; i < sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]); i++)
		if (sanitizer_calls[i] >= 0)
			allow(b, sanitizer_calls[i]);
	for (int i = 0; i < roles[role].n; i++) {
		int nr = roles[role].calls[i];

		if (nr == SYS_mmap || nr == SYS_mprotect)
			allow_without_bits(b, nr, 2, PROT_EXEC);
		else if (nr == SYS_ioctl)
			allow_ioctls(b, vcpu_ioctls, (int)(sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0])));
		else
			allow(b, nr);
	}
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
}

/* The fault injection of the confinement test: EXITLESS_SECCOMP_TEST=ROLE makes the threads of that role
 * call getppid(), which no allowlist holds, right after their filter is in place. */
static void selftest(enum sandbox_role role)
{
	const char *want = getenv("EXITLESS_SECCOMP_TEST");

	if (want && strcmp(want, roles[role].name) == 0)
		syscall(SYS_getppid);
}

int sandbox_enter(enum sandbox_role role)
{
	static struct bpf b[SANDBOX_ROLES];
	static bool built[SANDBOX_ROLES];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	struct sock_fprog prog;

	pthread_mutex_lock(&lock); /* threads of one role may start together */
	if (!built[role]) {
		build(&b[role], role);
		built[role] = true;
	}
	pthread_mutex_unlock(&lock);
	prog = (struct sock_fprog){ .len = (unsigned short)b[role].n, .filter = b[role].f };
	my_role = roles[role].name;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_set("sigaction(SIGSYS): %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set("no_new_privs: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_set("seccomp: %s", strerror(errno));
	selftest(role);
	return 0;
}
