#!/usr/bin/env bats
# ci/tests/svm.bats - what only a hardware-virtualization KVM shows (tests/run runs this inside the SVM rig,
# ci/svm-run): build/vmm on kvm_amd with nested paging, the platform in its stats, KVM's own per-reason exit
# counts (io_exits, mmio_exits are real there), and the gate on the counts that do not depend on timing
# against ci/perf-reference-svm.csv. Elsewhere (PVM, VT-x) the tests skip, saying why.

setup() {
	cd "$BATS_TEST_DIRNAME/../.." || return 1
	VMM=build/vmm
	GUEST=build/guest.elf
	[ -d /sys/module/kvm_amd ] || skip "not on kvm_amd (run in the SVM rig: ci/svm-run)"
	IMG="$BATS_TEST_TMPDIR/disk.img"
	dd if=/dev/urandom of="$IMG" bs=1M count=16 status=none
	STATS="$BATS_TEST_TMPDIR/stats.json"
}

# read_job N QD: a job of N 4 KiB random reads at depth QD.
read_job() {
	printf '[r]\nrw=randread\nbs=4k\niodepth=%s\nnumber_ios=%s\n' "$2" "$1" >"$BATS_TEST_TMPDIR/r.fio"
	echo "$BATS_TEST_TMPDIR/r.fio"
}

@test "build/vmm runs on kvm_amd with nested paging, and its stats say SVM emulated by TCG" {
	[ "$(cat /sys/module/kvm_amd/parameters/npt)" = Y ]
	run "$VMM" --disk "$IMG" --module workloads/jobs/verify-crc32c.fio --results "$BATS_TEST_TMPDIR/r.json" \
		--stats "$STATS" "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq -r .config.kvm_flavor "$STATS")" = svm ]
	[ "$(jq -r .config.emulated "$STATS")" = true ]
	[ "$(jq -r .config.host_hypervisor "$STATS")" = TCGTCGTCGTCG ]
	"$VMM" --platform >"$BATS_TEST_TMPDIR/p.json"
	[ "$(jq -r .emulated "$BATS_TEST_TMPDIR/p.json")" = true ]
}

@test "KVM counts the exits by reason: one MMIO exit per request with --request exit, none exitless" {
	run "$VMM" --disk "$IMG" --module "$(read_job 3000 1)" --stats "$STATS" --request exit --completion poll \
		--console /dev/null "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq .ios "$STATS")" -eq 3000 ]
	# every request's QueueNotify write is one MMIO exit, and nothing else in the window is
	[ "$(jq .kvm.mmio_exits "$STATS")" -ge 3000 ]
	[ "$(jq .kvm.mmio_exits "$STATS")" -le 3003 ]
	# the window's only port I/O: the END marker write
	[ "$(jq .kvm.io_exits "$STATS")" -le 2 ]
	run "$VMM" --disk "$IMG" --module "$(read_job 3000 1)" --stats "$STATS" --request exitless --completion poll \
		--console /dev/null "$GUEST"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(jq .kvm.mmio_exits "$STATS")" -eq 0 ]
	[ "$(jq .exits "$STATS")" -le 3 ]
}

@test "the exact counts of every request path and placement hold against the SVM reference" {
	[ -f ci/perf-reference-svm.csv ] || skip "no ci/perf-reference-svm.csv recorded yet"
	run ci/perf-gate --study counts --reference ci/perf-reference-svm.csv
	echo "$output"
	[ "$status" -eq 0 ]
}
