/* svm-keeper.c - the SVM rig's idle VM: started by the rig's init before the command runs, it creates one KVM
 * VM with an in-kernel irqchip and one vCPU that never runs, and sleeps for the rig's lifetime.
 *
 * Why: KVM flips static keys as the first VM comes and the last one goes (preempt notifiers, the LAPIC's
 * "software disabled" key), and every flip live-patches kernel text (text_poke_bp: int3, IPIs to every CPU).
 * Under QEMU's multi-threaded TCG that patching can livelock the rig's CPUs (one in
 * smp_call_function_many_cond, the other looping on the int3 of the patched site in __schedule). With one VM
 * held open the keys never flip while tests start and stop their VMs. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("svm-keeper: cannot hold a KVM VM");
		return 1;
	}
	for (;;)
		pause();
}
