# tests/rig.bash - what the bats files that also run in the rigs (tests/run: SVM_RIG, VMX_RIG) share. In a bats
# file: `load ../../tests/rig` (relative to the file).

# host_only: skips a test in the rigs (emulator time): what it checks is the VMM's own side (arguments, files,
# backends, its threads' timing), the same on any KVM, and this host runs it.
host_only() {
	[ -z "${SVM_RIG:-}${VMX_RIG:-}" ] || skip "the VMM's own side, the same on any KVM: runs on this host"
}
