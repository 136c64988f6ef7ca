/* vcpu.c - the vCPU run loops: one handler per KVM exit reason, one thread per vCPU (vCPU 0 on the main
 * thread), the timeout and stop signals, and the end of the run.
 *
 * Signals: SIGALRM (--timeout), SIGINT, SIGTERM and SIGCHLD (a device process died) are delivered to the
 * main thread only (every other thread blocks them); SIGUSR1 kicks a vCPU thread out of KVM_RUN. A
 * handler sets kvm_run->immediate_exit of its own thread's vCPU, so a KVM_RUN that races with the signal
 * returns at once instead of entering the guest (KVM API: "immediate_exit"). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio.h"

#define SIG_KICK SIGUSR1

static volatile sig_atomic_t pending_signal;
static __thread struct kvm_run *volatile my_run;

static void on_signal(int sig)
{
	if (sig != SIG_KICK)
		pending_signal = sig;
	if (my_run)
		my_run->immediate_exit = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: KVM_RUN gets EINTR */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIG_KICK, &sa, NULL);
}

/* Ends the run with `status` (the first caller decides it) and kicks every vCPU out of KVM_RUN. */
static void end_run(struct vmm *v, int status)
{
	int unset = -1;

	atomic_compare_exchange_strong(&v->exit_code, &unset, status);
	atomic_store(&v->stop, 1);
	for (int i = 0; i < v->kvm.nvcpus; i++)
		if (v->vcpu_thread[i] && !pthread_equal(v->vcpu_thread[i], pthread_self()))
			pthread_kill(v->vcpu_thread[i], SIG_KICK);
}

/* A device process ended while the guest runs: it is reaped here (no zombie) and named.
 * Returns -1 when no device process died (another child, or a spurious SIGCHLD). */
static int device_death_status(struct vmm *v)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < v->nctx; i++) {
			struct emu_ctx *c = v->ctx[i];

			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (WIFSIGNALED(status))
				fprintf(stderr, "vmm: the device process of disk %d (pid %d) was killed by signal %d\n",
					c->dev->index, pid, WTERMSIG(status));
			else
				fprintf(stderr, "vmm: the device process of disk %d (pid %d) exited with status %d\n",
					c->dev->index, pid, WEXITSTATUS(status));
			return VMM_EXIT_FAILURE;
		}
	}
	return -1;
}

/* What a hung guest was doing, for the report of a timeout: vCPU 0's registers (the main thread's own vCPU:
 * KVM_GET_REGS from another thread would block while it runs) and every queue's ring state: where the
 * driver (avail idx, used_event) and the device (last avail, used idx, requests, completions, interrupts)
 * stand, and the transport's interrupt state (virtio-mmio: InterruptStatus). */
static void timeout_report(struct vmm *v)
{
	pthread_mutex_lock(&v->bus_lock);
	kvm_dump_regs(&v->kvm.vcpu[0]);
	for (int i = 0; i < v->ndisks; i++) {
		struct virtio_dev *d = v->disks[i];
		char irq[64];

		d->transport->irq_state(d, irq, sizeof(irq));
		for (int k = 0; k < d->nqueues; k++) {
			struct vqueue *q = &d->queues[k];
			struct vq *r = &q->vq;
			bool live = atomic_load(&q->active) && r->avail && r->used;

			fprintf(stderr, "vmm: disk %d queue %d: %s, avail idx %d, used_event %d, device last_avail %u used "
				"idx %u, requests %llu, completed %llu, irqs %llu, %s%s\n", i, k,
				live ? "active" : "inactive", live ? __atomic_load_n(&r->avail->idx, __ATOMIC_RELAXED) : -1,
				live && r->event_idx ? __atomic_load_n(vring_used_event(r->avail, r->num), __ATOMIC_RELAXED) : -1,
				r->last_avail, r->used_idx, (unsigned long long)atomic_load(&q->c.requests),
				(unsigned long long)atomic_load(&q->c.completed), (unsigned long long)atomic_load(&q->c.irqs),
				irq, atomic_load(&d->broken) ? ", needs a reset" : "");
		}
	}
	pthread_mutex_unlock(&v->bus_lock);
}

/* A pending signal (main thread): a timeout ends the run with 124, SIGINT/SIGTERM with 128 + signal, a
 * dead device process with 125. Returns -1 to keep running. */
static int signal_status(struct vmm *v)
{
	int sig = pending_signal;

	pending_signal = 0;
	if (sig == 0)
		return -1;
	if (sig == SIGCHLD)
		return device_death_status(v);
	if (sig == SIGALRM) {
		fprintf(stderr, "vmm: guest timed out after %u s\n", v->cfg.timeout_s);
		timeout_report(v);
		return VMM_EXIT_TIMEOUT;
	}
	fprintf(stderr, "vmm: stopped by signal %d\n", sig);
	return 128 + sig;
}

static int fatal_exit(struct vmm *v, struct kvm_vcpu *c, const char *what)
{
	pthread_mutex_lock(&v->bus_lock);
	serial_flush(&v->com1);
	fprintf(stderr, "vmm: %s (vcpu %d, exit reason %u)\n", what, c->index, c->run->exit_reason);
	kvm_dump_regs(c);
	pthread_mutex_unlock(&v->bus_lock);
	return VMM_EXIT_FAILURE;
}

static void handle_io(struct vmm *v, struct kvm_vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	v->exits[c->index].io++;
	pthread_mutex_lock(&v->bus_lock);
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_access(&v->pio, run->io.port, data, run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
	pthread_mutex_unlock(&v->bus_lock);
}

static void handle_mmio(struct vmm *v, struct kvm_vcpu *c)
{
	struct kvm_run *run = c->run;

	v->exits[c->index].mmio++;
	pthread_mutex_lock(&v->bus_lock);
	bus_access(&v->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len, run->mmio.is_write);
	pthread_mutex_unlock(&v->bus_lock);
}

/* Handles one exit; returns -1 to keep running, otherwise the process exit status. */
static int handle_exit(struct vmm *v, struct kvm_vcpu *c)
{
	struct kvm_run *run = c->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v, c);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(v, c);
		break;
	case KVM_EXIT_INTR:
		v->exits[c->index].intr++;
		break;
	case KVM_EXIT_HLT:
		v->exits[c->index].hlt++;
		return fatal_exit(v, c, "guest halted with nothing to wake it");
	case KVM_EXIT_SHUTDOWN:
		/* On SVM the registers below are the reset state: KVM reinitialises the VMCB at a shutdown. */
		v->exits[c->index].shutdown++;
		return fatal_exit(v, c, "guest triple fault (shutdown)");
	case KVM_EXIT_SYSTEM_EVENT:
		return fatal_exit(v, c, "guest requested a system reset or shutdown");
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "vmm: hardware entry failure reason 0x%llx\n",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return fatal_exit(v, c, "KVM could not enter the guest");
	case KVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "vmm: KVM internal error, suberror %u\n", run->internal.suberror);
		return fatal_exit(v, c, "KVM could not run the guest");
	default:
		v->exits[c->index].other++;
		return fatal_exit(v, c, "unexpected exit");
	}
	return atomic_load(&v->guest_exit);
}

/* Runs vCPU c until the run ends (this vCPU's exit, another's, or a signal on the main thread). */
static void vcpu_loop(struct vmm *v, struct kvm_vcpu *c, bool main_thread)
{
	my_run = c->run;
	while (!atomic_load(&v->stop)) {
		int status = main_thread ? signal_status(v) : -1;

		if (status < 0 && ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) { /* EAGAIN: an AP woken before its SIPI */
				c->run->immediate_exit = 0;
				v->exits[c->index].intr += errno == EINTR;
				continue;
			}
			fprintf(stderr, "vmm: KVM_RUN (vcpu %d): %s\n", c->index, strerror(errno));
			status = VMM_EXIT_FAILURE;
		} else if (status < 0) {
			status = handle_exit(v, c);
		}
		if (status >= 0)
			end_run(v, status);
	}
}

struct vcpu_arg {
	struct vmm *v;
	int index;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;

	a->v->vcpu_tid[a->index] = gettid();
	if (sandbox_enter(SANDBOX_VCPU) < 0)
		die(VMM_EXIT_FAILURE, "vcpu %d: %s", a->index, err_msg());
	vcpu_loop(a->v, &a->v->kvm.vcpu[a->index], false);
	return NULL;
}

int vcpu_start_aps(struct vmm *v)
{
	static struct vcpu_arg args[VMM_MAX_VCPUS];

	install_signals();
	v->vcpu_thread[0] = pthread_self();
	v->vcpu_tid[0] = gettid();
	for (int i = 1; i < v->kvm.nvcpus; i++) {
		args[i] = (struct vcpu_arg){ v, i };
		if (pthread_create(&v->vcpu_thread[i], NULL, vcpu_thread, &args[i]) != 0)
			return err_set("cannot start the thread of vcpu %d", i);
		while (!atomic_load(&v->vcpu_tid[i]))
			sched_yield();
	}
	return 0;
}

/* The run is over: the handlers would touch kvm_run mappings teardown is about to unmap, so every signal
 * waits (the process is stopping anyway; SIGKILL still ends it). All but SIGSYS: a blocked seccomp trap
 * kills with a core dump instead of the handler's line naming the thread and the call. */
static void signals_off(void)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	my_run = NULL;
}

int vcpu_run_all(struct vmm *v)
{
	if (v->cfg.timeout_s)
		alarm(v->cfg.timeout_s);
	if (sandbox_enter(SANDBOX_VCPU) < 0)
		die(VMM_EXIT_FAILURE, "vcpu 0: %s", err_msg());
	vcpu_loop(v, &v->kvm.vcpu[0], true);
	for (int i = 1; i < v->kvm.nvcpus; i++)
		if (v->vcpu_thread[i])
			pthread_join(v->vcpu_thread[i], NULL);
	signals_off();
	return atomic_load(&v->exit_code);
}

static const char *const exit_names[] = { EXIT_REASONS(COUNTER_NAME) };
static const struct counter_table exit_table = { exit_names, NULL, sizeof(exit_names) / sizeof(exit_names[0]) };

static void exits_read(const void *obj, uint64_t *out)
{
	const struct exit_counts *e = obj;
	int i = 0;

#define X(name) out[i++] = atomic_load_explicit(&e->name, memory_order_relaxed);
	EXIT_REASONS(X)
#undef X
}

struct counter_set vcpu_counters(const struct vmm *v, int c)
{
	return (struct counter_set){ &exit_table, exits_read, &v->exits[c] };
}
