# tests/rig.bash - what the bats files that also run in the rigs (tests/run: SVM_RIG, VMX_RIG) share. In a bats
# file: `load ../../tests/rig` (relative to the file).

# host_only: skips a test in the rigs (emulator time): what it checks is the VMM's own side (arguments, files,
# backends, its threads' timing), the same on any KVM, and this host runs it.
host_only() {
	[ -z "${SVM_RIG:-}${VMX_RIG:-}" ] || skip "the VMM's own side, the same on any KVM: runs on this host"
}

# rig_short: true in a rig (emulator time) unless EXITLESS_RIG_LONG=1: a test takes its short form there.
rig_short() {
	[ -n "${SVM_RIG:-}${VMX_RIG:-}" ] && [ "${EXITLESS_RIG_LONG:-0}" != 1 ]
}

# vmx_short: the same in the VMX rig (Bochs time) only.
vmx_short() {
	[ -n "${VMX_RIG:-}" ] && [ "${EXITLESS_RIG_LONG:-0}" != 1 ]
}

# long_in_rigs: skips a test in a rig unless EXITLESS_RIG_LONG=1 (a rig runs only its long form).
long_in_rigs() {
	if rig_short; then skip "emulator time: a rig runs it with EXITLESS_RIG_LONG=1"; fi
}

# not_in_vmx: skips a test in the VMX rig (VMX_RIG: Bochs time); what it takes there is taken by the tests tagged
# vmx (tests/run runs only those in the VMX rig: a test costs seconds there even when it skips).
not_in_vmx() {
	[ -z "${VMX_RIG:-}" ] || skip "Bochs time: runs on this host and in the SVM rig"
}
