#!/usr/bin/env bats
# hostile.bats - the guest misbehaves on purpose (test=hostile-*) under build/vmm in every --request and --emulation mode
# (in the rigs: each request path once, with the emulation placements spread over them, and a test that boots once
# per mode in one of them; fewer still in the VMX rig).
#
# Each boot must end with the guest's own exit 0 (the VMM alive until then: no 125, no 124 timeout), every case's
# PASS line, the device errors the guest provoked counted in --stats, nothing on stderr but "needs a reset" reports,
# and the image byte-identical to the original outside LBA 2048-2055 (the only sectors the guest may write).
# test=hostile-all runs every case that recovers by itself in one boot per mode; the cases that break the device
# (NEEDS_RESET, a reset with requests in flight) also get a boot of their own per mode.

MODES="exit/thread exit/process exit/inline ioeventfd/thread ioeventfd/process ioeventfd/inline exitless/thread
	exitless/process exitless/inline"
# In the rigs (SVM_RIG, VMX_RIG: emulator time) each request path once, each with another emulation placement:
# the request path is what KVM sees (a trap, an ioeventfd, nothing); the placement is the host's side, which
# this host runs in all nine modes against the sanitized VMM (and a rig with EXITLESS_RIG_LONG=1).
load ../../../tests/rig
if rig_short; then MODES="exit/thread ioeventfd/inline exitless/process"; fi
ALL_CASES="outside-ram straddle-ram-end chain-loop chain-too-long zero-len huge-len unknown-type past-end bad-head
	queue-regs-running ro-regs config-write notify-storm ack-storm reinit avail-jump framing dup-head
	bad-ring-setup aliased-rings"
# On virtio-pci: the cases for any transport, and the PCI ones (not the virtio-mmio register cases).
PCI_CASES="outside-ram straddle-ram-end chain-loop chain-too-long zero-len huge-len unknown-type past-end bad-head
	reinit avail-jump framing dup-head aliased-rings pci-config pci-bar pci-msix pci-master"
LBA=2048     # the pattern's sectors, as in hostile.h (H_LBA, H_LBA_COUNT)
LBA_COUNT=8

load ../../../tests/image

setup_file() {
	# 32 MiB: the huge-length case needs a disk below 128 MiB
	base_image hostile
}

teardown_file() {
	base_image_gone
}

setup() {
	cd "$BATS_TEST_DIRNAME/../../.." || return 1
	VMM=${VMM:-build/vmm}
	GUEST=${GUEST:-build/guest-hostile.elf}
	[ -x "$VMM" ] || skip "$VMM is not built (run make)"
	grep -q "hostile-all" "$GUEST" || skip "$GUEST has no hostile tests linked in"
	[ -w /dev/kvm ] || skip "no usable /dev/kvm"
}

# boot TEST MODE [VMM ARGS...]: runs test=TEST on a fresh copy of the base image in MODE (request/emulation).
# Sets status, output (the VMM's stderr), CON (console file), STATS, and M (the mode, for messages).
# DISKOPT is appended to the disk's option, HCMD to the guest's command line.
boot() {
	local t=$1 req=${2%/*} emu=${2#*/}
	shift 2
	M="$t in $req/$emu"
	CON="$BATS_TEST_TMPDIR/con-$t-$req-$emu"
	STATS="$BATS_TEST_TMPDIR/stats-$t-$req-$emu.json"
	base_image_copy
	run timeout 120 "$VMM" --timeout 90 --disk "$IMG${DISKOPT:-}" --request "$req" --emulation "$emu" --console "$CON" \
		--stats "$STATS" --cmdline "test=$t${HCMD:+ $HCMD}" "$@" "$GUEST"
}

fail_with() {
	echo "$M: $*"
	echo "--- console"; tail -n 40 "$CON" 2>/dev/null
	echo "--- stderr"; echo "$output"
	return 1
}

# The guest exited by itself with 0; the VMM reported nothing but NEEDS_RESET marks.
check_exit() {
	case $status in
	0) ;;
	124) fail_with "timed out: a hang in the guest or the VMM" ;;
	125) fail_with "status 125: the VMM crashed or failed" ;;
	*) fail_with "status $status" ;;
	esac || return 1
	# the one note on the page backing of guest RAM (vmm/guest_mem.c) is not a complaint about the guest
	if grep -Ev "${STDERR_OK:-^vmm: disk 0 needs a reset: }" <<<"$output" | grep -v "^vmm: note: guest RAM is on 4 KiB pages" | grep -q .; then
		fail_with "unexpected output on the VMM's stderr"
	fi
}

# check_pass CASES...: a PASS line per case, no FAIL line anywhere.
check_pass() {
	local c
	for c in "$@"; do
		grep -qx "PASS hostile-$c" "$CON" || fail_with "no PASS line for hostile-$c" || return 1
	done
	if grep -q FAIL "$CON"; then fail_with "a FAIL line"; fi
}

# The image is the original but for LBA 2048-2055, which hold the guest's pattern (8 labelled sectors).
check_image() {
	local lo=$((LBA * 512)) hi=$(((LBA + LBA_COUNT) * 512)) n
	[ "$(stat -c %s "$IMG")" = "$(stat -c %s "$IMGDIR/base.img")" ] || fail_with "the image changed size" || return 1
	cmp -n "$lo" "$IMGDIR/base.img" "$IMG" || fail_with "the image changed below LBA $LBA" || return 1
	cmp -i "$hi" "$IMGDIR/base.img" "$IMG" || fail_with "the image changed above LBA $((LBA + LBA_COUNT - 1))" || return 1
	n=$(dd if="$IMG" bs=512 skip="$LBA" count="$LBA_COUNT" status=none |
		grep -a -o 'exitless hostile lba 20[0-9][0-9]' | wc -l)
	[ "$n" -eq "$LBA_COUNT" ] || fail_with "LBA $LBA-$((LBA + LBA_COUNT - 1)) hold $n pattern sectors, not $LBA_COUNT"
}

# The errors and UNSUPP statuses the guest provoked (its "provoked errors N unsupported M" line) are counted
# by the device: .devices.errors >= N and .devices.unsupported >= M; N must be at least MIN (default 1).
check_stats() {
	local line n m e u min=${1:-1}
	line=$(grep -o 'provoked errors [0-9]* unsupported [0-9]*' "$CON") || fail_with "no summary line" || return 1
	read -r _ _ n _ m <<<"$line"
	e=$(jq .devices.errors "$STATS") && u=$(jq .devices.unsupported "$STATS") || fail_with "no stats" || return 1
	if ! { [ "$n" -ge "$min" ] && [ "$e" -ge "$n" ] && [ "$u" -ge "$m" ]; }; then
		fail_with "stats count $e errors / $u unsupported, the guest provoked $n / $m (at least $min wanted)"
	fi
}

# check_all MIN CASES...: exit, PASS lines, image, stats (at least MIN provoked errors).
check_all() {
	local min=$1
	shift
	check_exit && check_pass "$@" && check_image && check_stats "$min"
}

# hostile_all MODE: every self-recovering case in one boot.
hostile_all() {
	# shellcheck disable=SC2086
	boot hostile-all "$1" && check_all 40 $ALL_CASES all || return 1
	case $1 in exitless/*) return 0 ;; esac
	# With exit or ioeventfd every storm write reached the device (the IOCore of exitless never sleeps).
	[ "$(jq .devices.notifies "$STATS")" -ge 10000 ] || fail_with "the notify storm was not counted"
}

# test_modes: the modes a test that boots once per mode runs in: MODES; in a rig (emulator time, unless
# EXITLESS_RIG_LONG=1) one of them, another for each such test (by its number), so that the rig's request
# paths are spread over those tests.
test_modes() {
	# shellcheck disable=SC2206 # MODES is a list of words
	local -a m=($MODES)
	if rig_short; then
		echo "${m[BATS_TEST_NUMBER % ${#m[@]}]}"
	else
		echo "$MODES"
	fi
}

# each_mode TEST MIN [STDERR PATTERN...]: TEST in its own boot in every mode (test_modes), provoking at least MIN
# device errors; each pattern must be on stderr.
each_mode() {
	local t=$1 min=$2 mode p
	shift 2
	for mode in $(test_modes); do
		boot "hostile-$t" "$mode" && check_all "$min" "$t" || return 1
		for p in "$@"; do
			grep -q "$p" <<<"$output" || fail_with "stderr lacks '$p'" || return 1
		done
	done
}

# hostile_pci MODE: hostile-all on virtio-pci, with a second disk whose BAR the guest aims its own at; the VMM
# refuses each hostile placement and message with one line naming it, and says nothing else.
hostile_pci() {
	local p STDERR_OK="^vmm: (disk 0 needs a reset: |pci 00:01.0: )"
	cp "$IMGDIR/base.img" "$BATS_TEST_TMPDIR/second.img"
	boot hostile-all "$1" --transport pci --disk "$BATS_TEST_TMPDIR/second.img" || return 1
	# shellcheck disable=SC2086
	check_all 40 $PCI_CASES all || return 1
	for p in "BAR 0 at 0x100000 is outside the bridge's window" "BAR 0 at 0xc0008000: device region pci-bar overlaps" \
		"has an address outside the LAPIC window" "has a vector below 16" "bus mastering turned off while the driver"; do
		grep -q "$p" <<<"$output" || fail_with "stderr lacks '$p'" || return 1
	done
}

@test "hostile-all on queue 1 of a 2-queue disk, in each request path (queue 0 stays untouched)" {
	not_in_vmx
	local mode modes="exit/thread ioeventfd/inline exitless/process"
	DISKOPT=,queues=2 HCMD=hostile_queue=1
	[ -z "${SVM_RIG:-}${VMX_RIG:-}" ] || modes=exit/thread # emulator time in a rig: the path with every exit
	for mode in $modes; do
		hostile_all "$mode" || return 1
		grep -q "queue 1 of 2" "$CON" || fail_with "not on queue 1 of 2" || return 1
		[ "$(jq '.queues[1].requests' "$STATS")" -gt 100 ] || fail_with "queue 1 carried no requests" || return 1
		[ "$(jq '.queues[0].requests' "$STATS")" -eq 0 ] || fail_with "queue 0 was used" || return 1
	done
}

@test "a queue stopped and set up again on new rings while another queue has reads in flight (every mode)" {
	not_in_vmx
	local mode qi
	DISKOPT=,queues=2
	for mode in $(test_modes); do
		for qi in 0 1; do
			[ -z "${SVM_RIG:-}${VMX_RIG:-}" ] || [ "$qi" = 1 ] || continue # emulator time in a rig: one queue per mode
			HCMD=hostile_queue=$qi
			boot hostile-queue-restart "$mode" && check_all 0 queue-restart || return 1
			grep -q "hostile-queue-restart: queue $qi stopped with [0-8] of its 8 reads completed, queue $((1 - qi)) kept serving" "$CON" ||
				fail_with "no restart report for queue $qi" || return 1
		done
	done
}

# In the VMX rig (not_in_vmx, tests/rig.bash) hostile-all runs in each request path and on virtio-pci once (the tests
# tagged vmx); the cases of a boot of their own run on this host and in the SVM rig.

# one_mode MODE: hostile-all in MODE, when MODE is one of this run's (all of them but in a rig).
one_mode() {
	local m
	for m in $MODES; do
		[ "$m" != "$1" ] || { hostile_all "$1"; return; }
	done
	skip "emulator time in a rig: its modes are the three request paths' in the other tests"
}

# bats test_tags=vmx
@test "hostile-all, request=exit emulation=thread" { one_mode exit/thread; }
@test "hostile-all, request=exit emulation=process" { one_mode exit/process; }
@test "hostile-all, request=exit emulation=inline" { one_mode exit/inline; }
@test "hostile-all, request=ioeventfd emulation=thread" { one_mode ioeventfd/thread; }
@test "hostile-all, request=ioeventfd emulation=process" { one_mode ioeventfd/process; }
# bats test_tags=vmx
@test "hostile-all, request=ioeventfd emulation=inline" { one_mode ioeventfd/inline; }
@test "hostile-all, request=exitless emulation=thread" { one_mode exitless/thread; }
# bats test_tags=vmx
@test "hostile-all, request=exitless emulation=process" { one_mode exitless/process; }
@test "hostile-all, request=exitless emulation=inline" { one_mode exitless/inline; }

@test "hostile-all with --completion irq" {
	not_in_vmx
	# shellcheck disable=SC2086
	boot hostile-all exitless/thread --completion irq && check_all 40 $ALL_CASES all
}

@test "avail index jumping ahead or back by more than the queue size: NEEDS_RESET, then a reset works (every mode)" {
	not_in_vmx
	each_mode avail-jump 3 "the avail index moved more than the queue size"
}

@test "rings outside RAM, misaligned, of a bad size or not ready at DRIVER_OK: NEEDS_RESET (every mode)" {
	not_in_vmx
	each_mode bad-ring-setup 9 "lies outside guest RAM" "misaligned" "not a power of two" "without a ready queue"
}

@test "all three rings at one address: the VMM survives and a reset brings the device back (every mode)" {
	not_in_vmx
	each_mode aliased-rings 0
}

@test "a reset with 85 requests in flight, then new rings: nothing reaches the old rings after the reset (every mode)" {
	not_in_vmx
	local mode
	for mode in $(test_modes); do
		boot hostile-reset-inflight "$mode" && check_exit && check_pass reset-inflight && check_image || return 1
	done
}

# bats test_tags=vmx
@test "virtio-pci: hostile-all and the PCI cases (configuration space, BARs, MSI-X, bus mastering), each request path" {
	local mode modes="exit/thread ioeventfd/process exitless/inline"
	[ -z "${SVM_RIG:-}" ] || modes=exitless/inline # emulator time in a rig: the exit path's notify in the next test
	[ -z "${VMX_RIG:-}" ] || modes=ioeventfd/process                 # Bochs time: the doorbell in KVM
	for mode in $modes; do
		hostile_pci "$mode" || return 1
	done
}

@test "virtio-pci: a reset with requests in flight, then new rings (each request path)" {
	not_in_vmx
	local mode modes="exit/thread ioeventfd/process exitless/inline"
	# emulator time in a rig: one request path (the exit path's notify), unless EXITLESS_RIG_LONG=1
	if rig_short; then modes=exit/thread; fi
	for mode in $modes; do
		boot hostile-reset-inflight "$mode" --transport pci && check_exit && check_pass reset-inflight && check_image ||
			return 1
	done
}
