#!/usr/bin/env bats
# shellcheck disable=SC2016 # jq programs are in single quotes, their $n is jq's
# ci/tests/rig.bats - what only a hardware-virtualization KVM shows; tests/run runs it inside the SVM rig
# (ci/svm-run: kvm_amd under QEMU TCG) and the VMX rig (ci/vmx-run: kvm_intel under Bochs): build/vmm on a
# KVM with nested paging (NPT, EPT), the platform in its stats (emulated, and by what), KVM's own per-vCPU
# exit statistics by reason (io_exits, mmio_exits, halt_exits are real there), the gate on the counts that
# do not depend on timing against ci/perf-reference-FLAVOR.csv, and on VT-x without unrestricted guest the
# PVH entry through KVM's identity map. Elsewhere (PVM, bare metal) the tests skip, saying why.

# bats file_tags=vmx
# (every test here runs in the VMX rig: tests/run keeps only the tests tagged vmx there)

load ../../tests/rig

setup_file() {
	# one image for the file: random bytes are slow to make in the rigs (the verify jobs write it, the rest read)
	export RIG_IMG
	RIG_IMG=$(mktemp -p "${BATS_TMPDIR:-/tmp}" rig.XXXXXX)
	dd if=/dev/urandom of="$RIG_IMG" bs=1M count=16 status=none
}

teardown_file() {
	rm -f "$RIG_IMG"
}

setup() {
	cd "$BATS_TEST_DIRNAME/../.." || return 1
	VMM=build/vmm
	GUEST=build/guest.elf
	if [ -d /sys/module/kvm_amd ]; then
		FLAVOR=svm PAGING=/sys/module/kvm_amd/parameters/npt EMULATOR=TCGTCGTCGTCG
	elif [ -d /sys/module/kvm_intel ]; then
		FLAVOR=vmx PAGING=/sys/module/kvm_intel/parameters/ept EMULATOR="Bochs 2.7"
	else
		skip "not on kvm_amd or kvm_intel (run in a rig: ci/svm-run, ci/vmx-run)"
	fi
	IMG=$RIG_IMG
	STATS="$BATS_TEST_TMPDIR/stats.json"
}

# read_job N QD: a job of N 4 KiB random reads at depth QD.
read_job() {
	printf '[r]\nrw=randread\nbs=4k\niodepth=%s\nnumber_ios=%s\n' "$2" "$1" >"$BATS_TEST_TMPDIR/r.fio"
	echo "$BATS_TEST_TMPDIR/r.fio"
}

# vmm_read N QD ARGS...: N reads at depth QD in build/vmm with ARGS; the stats in STATS.
vmm_read() {
	local n=$1 qd=$2
	shift 2
	run "$VMM" --disk "$IMG" --module "$(read_job "$n" "$qd")" --stats "$STATS" --console /dev/null "$@" "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# holds N EXPR: the stats show N I/Os and the jq EXPR ($n is N) holds; else their counts are shown. One jq run
# per check: its start-up costs seconds in the rigs.
holds() {
	jq -e --argjson n "$1" ".ios == \$n and ($2)" "$STATS" >/dev/null || {
		jq -c '{ios, exits, host_irq_exits, kvm, vcpu0: .vcpus[0].kvm, pv_eoi: .config.pv_eoi,
			hlt_exits_off: .config.hlt_exits_off}' "$STATS"
		false
	}
}

unrestricted_guest() {
	cat /sys/module/kvm_intel/parameters/unrestricted_guest 2>/dev/null || echo Y
}

# first_boot: skips a test in a VMX rig booted without unrestricted guest (ci/vmx-run --kvm-intel
# unrestricted_guest=0): that boot is for the PVH entry through the identity map.
first_boot() {
	[ "$(unrestricted_guest)" = Y ] || skip "unrestricted_guest is off in this boot (the identity-map test's)"
}

@test "build/vmm runs with nested paging, and its stats and --platform say the virtualization is emulated, and by what" {
	[ "$(cat "$PAGING")" = Y ]
	run "$VMM" --disk "$IMG" --module workloads/jobs/verify-crc32c.fio --results "$BATS_TEST_TMPDIR/r.json" \
		--stats "$STATS" "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r '.config | "\(.kvm_flavor) \(.emulated) \(.host_hypervisor)"' "$STATS")" = "$FLAVOR true $EMULATOR" ]
	"$VMM" --platform >"$BATS_TEST_TMPDIR/p.json"
	[ "$(jq -r '"\(.kvm_flavor) \(.emulated) \(.host_hypervisor)"' "$BATS_TEST_TMPDIR/p.json")" = "$FLAVOR true $EMULATOR" ]
}

@test "KVM's per-vCPU exit statistics: an interrupt per I/O is a halt, an injection and two MMIO exits" {
	first_boot
	local n=300
	vmm_read $n 1 --request exitless --completion irq
	# (a completion the guest finds before it halts needs neither: a few of them on a quiet host)
	holds $n '.vcpus[0].kvm as $v | .kvm as $k
		| $v.halt_exits >= $n - 3 and $v.halt_exits <= $n + 3
		and $v.irq_injections >= $n - 3 and $v.irq_injections <= $n + 3
		and $v.mmio_exits >= 2 * ($n - 3) and $v.mmio_exits <= 2 * $n + 3
		and $v.io_exits <= 2
		and $v.exits == $k.exits and $v.mmio_exits == $k.mmio_exits'
}

@test "virtio-pci: an interrupt per I/O costs the halt only: no MMIO exit, and PV EOI leaves the EOI untrapped" {
	first_boot
	local n=300
	vmm_read $n 1 --transport pci --request exitless --completion irq
	# all but the halt gone: the MSI-X handler reads no register, the EOI clears KVM's PV EOI flag in guest memory
	holds $n '.vcpus[0].kvm as $v | .config.pv_eoi and $v.irq_injections >= $n - 3
		and $v.halt_exits >= $n - 3 and $v.mmio_exits == 0 and $v.io_exits <= 2
		and .exits <= $n + 6'
	# the guest's xAPIC/x2APIC EOI instead (eoi=x2apic): one more exit per interrupt, the EOI's MSR write
	vmm_read $n 1 --transport pci --request exitless --completion irq --cmdline eoi=x2apic
	holds $n '.exits >= 2 * $n - 3'
}

@test "--hlt-exits off: a vCPU on a CPU of its own halts in the guest, and interrupts wake it without a halt exit" {
	first_boot
	local n=300
	vmm_read $n 1 --transport pci --request exitless --completion irq --hlt-exits off
	# no exit the guest causes is left; KVM's kick of the running vCPU (an IPI without posted interrupts) is the
	# host's interrupt exit, counted apart. Injections: one per I/O but for a few, as above (a completion the guest
	# finds before it halts, its interrupt suppressed again before the VMM decided to signal: 299 of 300 seen once)
	holds $n '.config.hlt_exits_off and (.vcpus[0].kvm as $v | $v.halt_exits <= 2 and $v.irq_injections >= $n - 3)
		and .exits <= 8'
}

# ref_check CELL METRIC VALUE: VALUE keeps the rig's reference row for CELL and METRIC (its rule, abs or ceil,
# and tolerance: ci/perf-gate's).
ref_check() {
	awk -F, -v c="$1" -v m="$2" -v x="$3" '$1 == c { if ($2 != m) next; n++; r = $3; t = $5
			lo = $4 == "abs" ? r - t : -1e9; ok = x >= lo ? x <= r + t : 0 }
		END { if (!n || !ok) print c, m, x, "against the reference", r, "+-", t; exit !(n * ok) }' \
		"ci/perf-reference-$FLAVOR.csv"
}

@test "the exact counts at queue depth 1 of every request path and placement hold against the rig's reference, and KVM counts one MMIO exit per request with --request exit, none exitless" {
	first_boot
	local c cell switches v
	# the counts study's configurations (experiments/configs.ini), run directly with a count of I/Os; in the VMX
	# rig (Bochs time) each request path once, unless EXITLESS_RIG_LONG=1
	local cells="full:exitless/auto full-inline:exitless/inline full-emu:exitless/process full-req:exit/auto
		base+poll:exit/process full-ioev:ioeventfd/auto"
	if vmx_short; then cells="full:exitless/auto full-req:exit/auto full-ioev:ioeventfd/auto"; fi
	for c in $cells; do
		cell=${c%%:*} switches=${c#*:}
		vmm_read 300 1 --request "${switches%/*}" --emulation "${switches#*/}" --completion poll
		case $cell in
		# KVM's own statistics by reason: every request's QueueNotify write is one MMIO exit, and nothing else in
		# the window is (its only port I/O: the END marker write); exitless, none
		full-req) holds 300 '.kvm.mmio_exits >= $n and .kvm.mmio_exits <= $n + 3 and .kvm.io_exits <= 2' ;;
		full) holds 300 '.kvm.mmio_exits == 0 and .exits <= 3' ;;
		*) holds 300 true ;;
		esac
		read -r -a v < <(jq -r '"\(.exits_per_io) \(.irqs_per_io) \(.notifies_per_io)"' "$STATS")
		ref_check "$cell/randread-4k-qd1" exits_per_io "${v[0]}"
		ref_check "$cell/randread-4k-qd1" irqs_per_io "${v[1]}"
		ref_check "$cell/randread-4k-qd1" notifies_per_io "${v[2]}"
	done
}

@test "the counts study holds against the rig's reference" {
	first_boot
	# emulator time (3.5 minutes in the SVM rig, 8 in the VMX rig): the test before checks its qd1 cells
	[ "${EXITLESS_RIG_LONG:-0}" = 1 ] || skip "emulator time: its qd1 cells are the test before (EXITLESS_RIG_LONG=1 runs it)"
	run ci/perf-gate --study counts --reference "ci/perf-reference-$FLAVOR.csv"
	echo "$output"
	[ "$status" -eq 0 ]
}

# kvm_intel_load PARAMS...: loads kvm_intel again with the rig's parameters and PARAMS (the VMX rig's init leaves
# the module, its parameters and busybox in /run/vmx-rig); KVM_RELOADED says it was.
kvm_intel_load() {
	local d=/run/vmx-rig
	# shellcheck disable=SC2046 # the parameters are words
	"$d/busybox" rmmod kvm_intel && "$d/busybox" insmod "$d/kvm-intel.ko" $(cat "$d/kvm-intel.params") "$@"
}

teardown() {
	[ -z "${KVM_RELOADED:-}" ] || kvm_intel_load
}

@test "VT-x without unrestricted guest: the PVH entry runs through KVM's identity map, and the guest works" {
	[ "$FLAVOR" = vmx ] || skip "VT-x only (unrestricted guest is an Intel feature)"
	if [ "$(unrestricted_guest)" = Y ]; then
		[ -f /run/vmx-rig/kvm-intel.ko ] || skip "unrestricted_guest is on, and kvm_intel cannot be loaded again here"
		KVM_RELOADED=1
		kvm_intel_load unrestricted_guest=0
		[ "$(unrestricted_guest)" = N ]
	fi
	run "$VMM" --cmdline 0 build/tests/mini-guest.elf
	[ "$output" = "mini-guest: hello" ] || { echo "$output"; false; }
	[ "$status" -eq 0 ]
	printf '[v]\nrw=randwrite\nbs=4k\nsize=1m\niodepth=8\nverify=crc32c\n' >"$BATS_TEST_TMPDIR/v.fio"
	run "$VMM" --disk "$IMG" --module "$BATS_TEST_TMPDIR/v.fio" --results "$BATS_TEST_TMPDIR/r.json" \
		--stats "$STATS" --request exit --completion irq "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r '"\(.jobs[0].write.io_bytes) \(.exitless.verify_errors)"' "$BATS_TEST_TMPDIR/r.json")" = "$((1 << 20)) 0" ]
}
