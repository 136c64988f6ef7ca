/* vcpu.c - the vCPU run loop: one handler per KVM exit reason; timeout and stop signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev.h"

/* Set from signal handlers; kvm_run->immediate_exit makes a KVM_RUN that races with the signal
 * return at once instead of entering the guest (KVM API: "immediate_exit"). */
static volatile sig_atomic_t pending_signal;
static struct kvm_run *volatile signal_run;

static void on_signal(int sig)
{
	pending_signal = sig;
	if (signal_run)
		signal_run->immediate_exit = 1;
}

static void install_signals(struct vmm *v)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: KVM_RUN gets EINTR */

	signal_run = v->kvm.run;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	if (v->cfg.timeout_s)
		alarm(v->cfg.timeout_s);
}

/* A device process ended while the guest runs: it is reaped here (no zombie) and named.
 * Returns -1 when no device process died (another child, or a spurious SIGCHLD). */
static int device_death_status(struct vmm *v)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < v->ndisks; i++) {
			if (v->disks[i]->pid != pid)
				continue;
			v->disks[i]->pid = 0;
			if (WIFSIGNALED(status))
				fprintf(stderr, "vmm: the device process of disk %d (pid %d) was killed by signal %d\n",
					i, pid, WTERMSIG(status));
			else
				fprintf(stderr, "vmm: the device process of disk %d (pid %d) exited with status %d\n",
					i, pid, WEXITSTATUS(status));
			return VMM_EXIT_FAILURE;
		}
	}
	return -1;
}

/* A pending signal ends the run: a timeout with 124, SIGINT/SIGTERM with 128 + signal. */
static int signal_status(struct vmm *v)
{
	int sig = pending_signal;

	if (sig == SIGALRM) {
		fprintf(stderr, "vmm: guest timed out after %u s\n", v->cfg.timeout_s);
		return VMM_EXIT_TIMEOUT;
	}
	fprintf(stderr, "vmm: stopped by signal %d\n", sig);
	return 128 + sig;
}

static int fatal_exit(struct vmm *v, const char *what)
{
	serial_flush(&v->com1);
	fprintf(stderr, "vmm: %s (exit reason %u)\n", what, v->kvm.run->exit_reason);
	kvm_dump_regs(&v->kvm);
	return VMM_EXIT_FAILURE;
}

static void handle_io(struct vmm *v)
{
	struct kvm_run *run = v->kvm.run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	v->exits.io++;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_access(&v->pio, run->io.port, data, run->io.size,
			   run->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vmm *v)
{
	struct kvm_run *run = v->kvm.run;

	v->exits.mmio++;
	bus_access(&v->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		   run->mmio.is_write);
}

static int handle_internal_error(struct vmm *v)
{
	struct kvm_run *run = v->kvm.run;

	fprintf(stderr, "vmm: KVM internal error, suberror %u\n", run->internal.suberror);
	return fatal_exit(v, "KVM could not run the guest");
}

/* Handles one exit; returns -1 to keep running, otherwise the process exit status. */
static int handle_exit(struct vmm *v)
{
	struct kvm_run *run = v->kvm.run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		break;
	case KVM_EXIT_INTR:
		v->exits.intr++;
		break;
	case KVM_EXIT_HLT:
		v->exits.hlt++;
		return fatal_exit(v, "guest halted with nothing to wake it");
	case KVM_EXIT_SHUTDOWN:
		v->exits.shutdown++;
		return fatal_exit(v, "guest triple fault (shutdown)");
	case KVM_EXIT_SYSTEM_EVENT:
		return fatal_exit(v, "guest requested a system reset or shutdown");
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "vmm: hardware entry failure reason 0x%llx\n",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return fatal_exit(v, "KVM could not enter the guest");
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(v);
	default:
		v->exits.other++;
		return fatal_exit(v, "unexpected exit");
	}
	return v->stop ? v->exit_code : -1;
}

int vcpu_run_loop(struct vmm *v)
{
	int status = -1;

	install_signals(v);
	while (status < 0) {
		if (pending_signal == SIGCHLD) {
			pending_signal = 0;
			status = device_death_status(v);
			if (status >= 0)
				return status;
		} else if (pending_signal) {
			return signal_status(v);
		}
		if (ioctl(v->kvm.vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->kvm.run->immediate_exit = 0;
				v->exits.intr++;
				continue;
			}
			fprintf(stderr, "vmm: KVM_RUN: %s\n", strerror(errno));
			return VMM_EXIT_FAILURE;
		}
		status = handle_exit(v);
	}
	return status;
}
