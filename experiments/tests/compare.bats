#!/usr/bin/env bats
# experiments/tests/compare.bats - experiments/compare (the comparison ci/perf-ab makes) on runs whose
# results.csv is written here: the permutation test's p (exact and Monte Carlo, seeded), the effect-size floor,
# counts compared strictly, failed repetitions, the note when the samples cannot reach the threshold, the JSON,
# and usage errors.

load helpers

# mk_run DIR CELL METRIC VALUE...: a run directory whose results.csv holds one more repetition per VALUE.
mk_run() {
	local dir=$1 cell=$2 metric=$3 rep v
	shift 3
	mkdir -p "$dir"
	[ -f "$dir/cells.tsv" ] || printf 'cell\tconfig\n' >"$dir/cells.tsv"
	[ -f "$dir/results.csv" ] || echo "run,cell,config,job,rep,metric,value" >"$dir/results.csv"
	rep=$(awk -F, -v c="$cell" -v m="$metric" '$2 == c && $6 == m' "$dir/results.csv" | wc -l)
	for v in "$@"; do
		rep=$((rep + 1))
		echo "r,$cell,${cell%/*},${cell#*/},$rep,$metric,$v" >>"$dir/results.csv"
	done
}

# mk_ab CELL METRIC "VALUES OF A" "VALUES OF B": both runs at once.
mk_ab() {
	local a b
	read -r -a a <<<"$3"
	read -r -a b <<<"$4"
	mk_run "$A" "$1" "$2" "${a[@]}"
	mk_run "$B" "$1" "$2" "${b[@]}"
}

setup() {
	A=$BATS_TEST_TMPDIR/a B=$BATS_TEST_TMPDIR/b
}

@test "A/A: no regression, status 0, the last line counts the checks" {
	mk_ab full/j iops "100 101 99 102 98" "101 99 100 98 102"
	mk_ab full/j exits_per_io "1 1 1 1 1" "1 1 1 1 1"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^full/j +iops +100 +100 +\+0\.0% +1\.0000 +ok$'
	[ "${lines[-1]}" = "compare: 2 checks, 0 regressions" ]
}

@test "a separated 10 % slowdown: exact p 2/252 with 5 against 5, effect and verdict, status 1, JSON" {
	mk_ab full/j iops "100 101 99 102 98" "90 91 89 92 88"
	run "$ROOT/experiments/compare" "$A" "$B" --json "$BATS_TEST_TMPDIR/c.json"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/j +iops +100 +90 +-10\.0% +0\.0079 +REGRESSION$'
	[ "${lines[-1]}" = "compare: 1 checks, 1 regressions" ]
	jq -e '.format == 1 and .regressions == 1 and .alpha == 0.01 and .resamples == 9999 and
		(.checks[0] | .p > 0.0079 and .p < 0.0080 and .change_pct == -10 and .n_a == 5 and .verdict == "REGRESSION")' "$BATS_TEST_TMPDIR/c.json"
}

@test "a faster B is better, not a regression; lower latency too" {
	mk_ab full/j iops "90 91 89 92 88" "100 101 99 102 98"
	mk_ab full/j lat_mean_ns "100 101 99 102 98" "90 91 89 92 88"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^full/j +iops .* better$'
	echo "$output" | grep -Eq '^full/j +lat_mean_ns .* better$'
}

@test "the effect-size floor: a significant 3 % slowdown passes at 5 %, fails at --floor iops=2" {
	mk_ab full/j iops "100 100.5 99.5 100.2 99.8" "97 97.5 96.5 97.2 96.8"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^full/j +iops +100 +97 +-3\.0% +0\.0079 +ok$'
	run "$ROOT/experiments/compare" "$A" "$B" --floor iops=2
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/j +iops .* REGRESSION$'
}

@test "exact p up to 10 against 10 rounds; Monte Carlo beyond, the same for the same seed and near the exact p" {
	mk_ab full/j iops "100 101 99 102 98 100 101 99 102 98" "97 98 96 99 95 100 101 90 93 94"
	"$ROOT/experiments/compare" "$A" "$B" --json "$BATS_TEST_TMPDIR/0.json" >/dev/null
	# 1122 of the C(20, 10) = 184756 arrangements are as extreme
	jq -e '.checks[0] | .p > 0.0060728 and .p < 0.0060729 and .min_p < 0.0000109' "$BATS_TEST_TMPDIR/0.json"
	mk_ab full/j iops "100" "99"
	"$ROOT/experiments/compare" "$A" "$B" --json "$BATS_TEST_TMPDIR/1.json" >/dev/null
	"$ROOT/experiments/compare" "$A" "$B" --json "$BATS_TEST_TMPDIR/2.json" >/dev/null
	"$ROOT/experiments/compare" "$A" "$B" --seed 7 --json "$BATS_TEST_TMPDIR/3.json" >/dev/null
	p1=$(jq '.checks[0].p' "$BATS_TEST_TMPDIR/1.json")
	[ "$p1" = "$(jq '.checks[0].p' "$BATS_TEST_TMPDIR/2.json")" ]
	[ "$(jq '.checks[0].min_p' "$BATS_TEST_TMPDIR/1.json")" = 0.0001 ]
	# 11 against 11: the exact p is 0.004755 (measured with --resamples 800000); 9999 draws land within 0.0015 of it
	awk -v p="$p1" -v q="$(jq '.checks[0].p' "$BATS_TEST_TMPDIR/3.json")" 'BEGIN { exit !(p > 0.00325 && p < 0.00625 && q > 0.00325 && q < 0.00625 && p != q) }'
}

@test "counts are compared strictly: a rise of more than 2 % (or 0.01 per I/O) is a regression without a test" {
	mk_ab base/j exits_per_io "1 1 1" "1.05 1.05 1.05"
	mk_ab base/j notifies_per_io "1 1 1" "1.01 1.01 1.01"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^base/j +exits_per_io +1 +1\.05 +\+5\.0% +count +REGRESSION$'
	echo "$output" | grep -Eq '^base/j +notifies_per_io +1 +1\.01 +\+1\.0% +count +ok$'
}

@test "samples that cannot reach the threshold are untestable, and a note says how many rounds can" {
	mk_ab full/j iops "100 101 99" "50 51 49"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^full/j +iops +100 +50 +-50\.0% +0\.1000 +untestable$'
	[[ "$output" == *"note: 3 against 3 samples cannot reach p < 0.01 (the smallest p they allow is 0.1; 1 cells): run 5 rounds or more (--reps)"* ]]
}

@test "a repetition that failed in B and not in A is a regression" {
	mk_ab full/j iops "100 101 99 102 98" "100 101 99 102 98"
	mkdir -p "$A/cells/full/j/rep1" "$B/cells/full/j/rep1" "$B/cells/full/j/rep2"
	echo "ok rc=0 secs=1 host=h reason=" >"$A/cells/full/j/rep1/status"
	echo "ok rc=0 secs=1 host=h reason=" >"$B/cells/full/j/rep1/status"
	echo "failed rc=125 secs=1 host=h reason=exit status 125" >"$B/cells/full/j/rep2/status"
	run "$ROOT/experiments/compare" "$A" "$B"
	[ "$status" -eq 1 ]
	echo "$output" | grep -Eq '^full/j +failed_reps +0 +1 +- +count +REGRESSION$'
}

@test "usage errors are one line and status 2" {
	mk_run "$A" full/j iops 100
	run "$ROOT/experiments/compare" "$A"
	[ "$status" -eq 2 ]
	[ "$output" = "compare: usage: experiments/compare RUN_A RUN_B [options] (see --help)" ]
	run "$ROOT/experiments/compare" "$A" "$A" --floor speed=3
	[ "$status" -eq 2 ]
	[[ "$output" == "compare: --floor speed=3: unknown metric speed (known: iops lat_mean_ns "* ]]
	run "$ROOT/experiments/compare" "$A" "$A" --resamples 999
	[ "$status" -eq 2 ]
	[ "$output" = "compare: --resamples 999: expected at least 9999" ]
	run "$ROOT/experiments/compare" "$A" "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 2 ]
	[ "$output" = "compare: $BATS_TEST_TMPDIR/none: not a run directory (no cells.tsv)" ]
}
