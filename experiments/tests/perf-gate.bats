#!/usr/bin/env bats
# experiments/tests/perf-gate.bats - ci/perf-gate passes on a run that matches its reference, fails with a
# table on a regressed one, and runs in its short form on this machine when the VMM and a reference exist.

load helpers

setup() {
	RUN=$(fixture_run)
	# the fixture's one failed repetition would itself be a regression: make that cell whole
	rm -rf "$RUN/cells/baseline/randread-4k-qd32/rep2"
	cp -r "$RUN/cells/baseline/randread-4k-qd32/rep1" "$RUN/cells/baseline/randread-4k-qd32/rep2"
	REF=$BATS_TEST_TMPDIR/reference.csv
	"$ROOT/ci/perf-gate" --record "$RUN" --reference "$REF" 2>/dev/null
}

# regress RUN: full mode exits on every I/O and loses a fifth of its throughput.
regress() {
	local d
	for d in "$1"/cells/full/*/rep*; do
		jq '.exits_per_io = 1.5 | .exits = .ios * 1.5' "$d/stats.json" >"$d/s"
		mv "$d/s" "$d/stats.json"
		jq '.jobs[0].read.iops *= 0.8' "$d/guest.json" >"$d/g"
		mv "$d/g" "$d/guest.json"
	done
}

@test "the recorded reference holds the deterministic counts and the ratios to bare metal" {
	grep -q '^full/randread-4k-qd1,exits_per_io,0.002,ceil,0.01$' "$REF"
	grep -q '^baseline/randread-4k-qd1,exits_per_io,2,abs,0.2$' "$REF"
	grep -q '^full/randread-4k-qd1,pct_of_bare,96.82,floor,8$' "$REF"
	run grep -q '^bare/' "$REF"
	[ "$status" -eq 1 ]
}

@test "the gate passes on a run that matches the reference" {
	run "$ROOT/ci/perf-gate" --run "$RUN" --reference "$REF"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "perf gate: 39 checks, 0 regressions" ]]
}

@test "the gate fails on a regressed run and says which check" {
	regress "$RUN"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	run "$ROOT/ci/perf-gate" --run "$RUN" --reference "$REF"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +exits_per_io +0\.002 +<= 0\.012 +1\.5 +FAIL$'
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +pct_of_bare +96\.82 +>= 88\.82 +77\.45 +FAIL$'
	echo "$output" | grep -Eq '^baseline/randread-4k-qd1 +exits_per_io .* ok$'
	[[ "${lines[-1]}" == "perf gate: 39 checks, 6 regressions" ]]
}

@test "the short form gates the counts only: a slowdown is shown, an exit per I/O fails" {
	regress "$RUN"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	run "$ROOT/ci/perf-gate" --short --run "$RUN" --reference "$REF"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +pct_of_bare +96\.82 +>= 58\.82 +77\.45 +ok \(shown\)$'
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +exits_per_io +0\.002 +<= 0\.012 +1\.5 +FAIL$'
	# throughput alone, however low, is no regression in the short form
	jq '.jobs[0].read.iops *= 0.1' "$RUN/cells/full/randread-4k-qd1/rep1/guest.json" >"$BATS_TEST_TMPDIR/g"
	mv "$BATS_TEST_TMPDIR/g" "$RUN/cells/full/randread-4k-qd1/rep1/guest.json"
	for d in "$RUN"/cells/full/*/rep*; do
		jq '.exits_per_io = 0.002 | .exits = .ios * 0.002' "$d/stats.json" >"$d/s"
		mv "$d/s" "$d/stats.json"
	done
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	run "$ROOT/ci/perf-gate" --short --run "$RUN" --reference "$REF"
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +pct_of_bare .* low \(shown, not gated\)$' || { echo "$output"; false; }
	[ "$status" -eq 0 ]
}

@test "a failed repetition is a regression" {
	echo "failed rc=1 secs=1 host=x reason=I/O error" >"$RUN/cells/full/randread-4k-qd1/rep2/status"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	run "$ROOT/ci/perf-gate" --run "$RUN" --reference "$REF"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +repetitions +- +all ok +1 failed +FAIL$'
}

@test "without a reference the gate says how to record one, status 2" {
	run "$ROOT/ci/perf-gate" --run "$RUN" --reference "$BATS_TEST_TMPDIR/none.csv"
	[ "$status" -eq 2 ]
	[ "$output" = "perf-gate: no reference $BATS_TEST_TMPDIR/none.csv: record one from a good run with ci/perf-gate --record RUN_DIR" ]
}

@test "the short gate passes on this machine" {
	[ -x "$ROOT/build/vmm" ] && [ -f "$ROOT/build/guest.elf" ] || skip "build/vmm or build/guest.elf not built"
	[ -w /dev/kvm ] || skip "no access to /dev/kvm"
	[ -f "$ROOT/ci/perf-reference.csv" ] || skip "no ci/perf-reference.csv recorded yet"
	run "$ROOT/ci/perf-gate" --short
	echo "$output"
	[ "$status" -eq 0 ]
}
