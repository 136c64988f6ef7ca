#!/usr/bin/env bats
# experiments/tests/collect.bats - the collector on the fixture run (fixtures/README.md has the numbers):
# ratios to bare metal, medians, failed repetitions, stats and perf fields; the summary printer.

load helpers

setup() {
	RUN=$(fixture_run)
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	S=$RUN/summary.csv
}

@test "pct_of_bare is the ratio of the medians" {
	[ "$(csv_get "$S" full/randread-4k-qd1 pct_of_bare)" = 96.8182 ]
	[ "$(csv_get "$S" full/seqread-128k-qd32 pct_of_bare)" = 99 ]
	[ "$(csv_get "$S" qemu-iothread-uring/randread-4k-qd32 pct_of_bare)" = 60 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 pct_of_bare)" = 100 ]
}

@test "pct_of_bare min and max pair repetition k of a configuration with repetition k of bare metal" {
	[ "$(csv_get "$S" full/randread-4k-qd1 pct_of_bare_min)" = 95 ]
	[ "$(csv_get "$S" full/randread-4k-qd1 pct_of_bare_max)" = 99 ]
	[ "$(rep_value "$RUN/results.csv" full/randread-4k-qd1 1 pct_of_bare)" = 99 ]
	[ "$(rep_value "$RUN/results.csv" full/randread-4k-qd1 2 pct_of_bare)" = 95 ]
}

@test "median, min and max of throughput and bandwidth" {
	[ "$(csv_get "$S" bare/randread-4k-qd1 iops_median)" = 11000 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 iops_min)" = 10000 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 iops_max)" = 12000 ]
	[ "$(csv_get "$S" full/seqread-128k-qd32 bw_bytes_median)" = $((15345 * 131072)) ]
}

@test "byte counts above 2^31 are kept whole (mawk's %d would saturate them)" {
	local f
	for f in "$RUN"/cells/full/seqread-128k-qd32/rep*/guest.json; do
		jq '.jobs[0].read.bw_bytes = 3000000001' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(csv_get "$S" full/seqread-128k-qd32 bw_bytes_max)" = 3000000001 ]
}

@test "a failed repetition is counted and left out of the statistics" {
	[ "$(csv_get "$S" baseline/randread-4k-qd32 reps_ok)" = 1 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd32 reps_failed)" = 1 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd32 iops_median)" = 20000 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd32 pct_of_bare)" = 36.3636 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd32 pct_of_bare_max)" = 40 ]
}

@test "exits, interrupts and CPU per I/O come from the VMM stats; bare metal's CPU from perf stat" {
	[ "$(csv_get "$S" full/randread-4k-qd1 exits_per_io)" = 0.002 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd1 irqs_per_io)" = 1 ]
	[ "$(csv_get "$S" full/randread-4k-qd1 cpu_us_per_io)" = 30 ]
	[ "$(csv_get "$S" full/randread-4k-qd1 cpu_source)" = stats ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 cpu_source)" = perf ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 cpu_us_per_io)" = 2 ]
	[ -z "$(csv_get "$S" bare/randread-4k-qd1 exits_per_io)" ]
}

@test "I/Os per host CPU-second: 1e6 over the CPU per I/O, the VMM's own or perf's, and perf's like for like" {
	[ "$(csv_get "$S" full/randread-4k-qd1 iops_per_core)" = 33333.3 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 iops_per_core)" = 500000 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 host_iops_per_core)" = 500000 ]
	run "$ROOT/experiments/summarize" "$RUN"
	[[ "$output" == *"I/Os per host CPU-second"* ]] || { echo "$output"; false; }
}

@test "latency columns are in microseconds" {
	[ "$(csv_get "$S" bare/randread-4k-qd1 clat_p50_us_median)" = 50 ]
	[ "$(csv_get "$S" baseline/randread-4k-qd1 clat_p99_us_median)" = 360 ]
}

@test "results.csv is tidy: run,cell,config,job,rep,metric,value" {
	[ "$(head -n 1 "$RUN/results.csv")" = "run,cell,config,job,rep,metric,value" ]
	awk -F, 'NF != 7 { exit 1 }' "$RUN/results.csv"
	grep -q '^run,full/randread-4k-qd1,full,randread-4k-qd1,1,kvm_exits,' "$RUN/results.csv"
	grep -q '^run,bare/randread-4k-qd1,bare,randread-4k-qd1,2,clat_p99.9_ns,' "$RUN/results.csv"
	grep -q '^run,full/randread-4k-qd1,full,randread-4k-qd1,1,guest_format,1$' "$RUN/results.csv"
	grep -q '^run,bare/randread-4k-qd1,bare,randread-4k-qd1,1,perf_task_clock_ms,' "$RUN/results.csv"
}

@test "a stats file without exits_per_io gets it from exits and ios" {
	f=$RUN/cells/full/randread-4k-qd1/rep1/stats.json
	jq 'del(.exits_per_io, .cpu_us_per_io) | .exits = 100 | .ios = 1000' "$f" >"$f.new"
	mv "$f.new" "$f"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(rep_value "$RUN/results.csv" full/randread-4k-qd1 1 exits_per_io)" = 0.1 ]
	[ "$(rep_value "$RUN/results.csv" full/randread-4k-qd1 1 cpu_us_per_io)" = 2000 ]
}

@test "collect on a folder that is not a run is one clear error" {
	run "$ROOT/experiments/collect" "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[ "$output" = "collect: $BATS_TEST_TMPDIR: not a run directory (no cells.tsv); runs are under results/" ]
}

@test "summarize prints % of bare metal and exits per I/O by workload and configuration" {
	run "$ROOT/experiments/summarize" "$RUN"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Throughput, % of bare metal"* ]]
	echo "$output" | grep -Eq '^  randread-4k-qd1 +40\.0 +70\.0 +96\.8 +50\.0$'
	echo "$output" | grep -Eq '^  randread-4k-qd32 +2\* +0\.01 +0\.002 +-$'
}

@test "summarize --bench prints one line per case with ratio median (min, max) and exits per I/O" {
	run "$ROOT/experiments/summarize" "$RUN" --bench
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^randread-4k-qd1 +full +96\.8% \(95\.0%, 99\.0%\) +0\.002 +10650 / 11000$'
}

@test "loop_same_pct and loop_other_pct: the loop's rate beside the I/O over its rate alone" {
	local f
	for f in "$RUN"/cells/full/seqread-128k-qd32/rep*/guest.json; do
		jq '.exitless += {think_units: 300, think_ns: 1000, loop_ref_units: 600, loop_ref_ns: 1000,
			loop_other_units: 900, loop_other_ns: 1000, loop_other_ref_units: 1000, loop_other_ref_ns: 1000}' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(csv_get "$S" full/seqread-128k-qd32 loop_same_pct)" = 50 ]
	[ "$(csv_get "$S" full/seqread-128k-qd32 loop_other_pct)" = 90 ]
	[ "$(csv_get "$S" full/randread-4k-qd1 loop_same_pct)" = "" ]
}

@test "cores busy and CPU per I/O from perf, the same way for every kind: task-clock over perf's wall time, per I/O" {
	local f
	for f in "$RUN"/cells/{bare,full,qemu-iothread-uring}/randread-4k-qd1/rep*/perf.csv; do
		echo '80000000,ns,duration_time,80000000,100.00,,' >>"$f"
	done
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	# bare rep 1: 40 ms of CPU in 80 ms = 0.5 cores busy; at 10000 IOPS that is 50 µs per I/O
	[ "$(rep_value "$RUN/results.csv" bare/randread-4k-qd1 1 cores_busy)" = 0.5 ]
	[ "$(rep_value "$RUN/results.csv" bare/randread-4k-qd1 1 host_cpu_us_per_io)" = 50 ]
	[ "$(csv_get "$S" full/randread-4k-qd1 cores_busy)" != "" ]
	[ "$(csv_get "$S" qemu-iothread-uring/randread-4k-qd1 host_cpu_us_per_io_max)" != "" ]
	[ "$(csv_get "$S" full/randread-4k-qd1 cpu_missing)" = "" ]
}

@test "a cell without perf figures says why" {
	rm "$RUN"/cells/full/randread-4k-qd1/rep*/perf.csv
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(csv_get "$S" full/randread-4k-qd1 host_cpu_us_per_io)" = "" ]
	[ "$(csv_get "$S" full/randread-4k-qd1 cpu_missing)" = "perf stat counted no task-clock (see cells/full/randread-4k-qd1/rep*/perf.csv)" ]
	jq '.perf.missing = "perf is not installed (make deps installs linux-perf)"' "$RUN/meta.json" >"$RUN/meta.new"
	mv "$RUN/meta.new" "$RUN/meta.json"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(csv_get "$S" full/randread-4k-qd1 cpu_missing)" = "perf is not installed (make deps installs linux-perf)" ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 cpu_missing)" = "" ]
}

# add_bare_best SCALE: a bare-best configuration in the fixture run, its IOPS those of bare times SCALE.
add_bare_best() {
	local d f
	for d in "$RUN"/cells/bare/*; do
		mkdir -p "$RUN/cells/bare-best/${d##*/}"
		cp -r "$d"/rep* "$RUN/cells/bare-best/${d##*/}/"
		for f in "$RUN/cells/bare-best/${d##*/}"/rep*/fio.json; do
			jq --argjson s "$1" '.jobs[0].read.iops *= $s' "$f" >"$f.new"
			mv "$f.new" "$f"
		done
	done
	awk -F'\t' -v OFS='\t' '{ print } $2 == "bare" { $1 = "bare-best/" $4; $2 = "bare-best"; print }' "$RUN/cells.tsv" >"$RUN/cells.new"
	mv "$RUN/cells.new" "$RUN/cells.tsv"
}

@test "the 100 % line is the faster of bare and bare-best, job by job, and summarize names both" {
	add_bare_best 2
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	[ "$(csv_get "$S" full/randread-4k-qd1 bare_ref)" = bare-best ]
	[ "$(csv_get "$S" full/randread-4k-qd1 pct_of_bare)" = 48.4091 ]
	[ "$(csv_get "$S" bare/randread-4k-qd1 pct_of_bare)" = 50 ]
	run "$ROOT/experiments/summarize" "$RUN"
	[[ "$output" == *"100 = the faster of bare, bare-best on each workload"* ]]
	[[ "$output" != *"no bare metal at its best"* ]]
	run "$ROOT/experiments/summarize" "$RUN" --bench
	echo "$output" | grep -Eq '^randread-4k-qd1 +full +48\.4% .* 10650 / 22000$'
}

@test "a run with bare metal but not at its best, or with no bare metal, says so above its table" {
	run "$ROOT/experiments/summarize" "$RUN"
	[[ "$output" == *"this run has no bare metal at its best (bare-best): 100 = plain bare metal (bare)"* ]]
	awk -F'\t' 'NR == 1 || $3 != "bare"' "$RUN/cells.tsv" >"$RUN/cells.new"
	mv "$RUN/cells.new" "$RUN/cells.tsv"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	run "$ROOT/experiments/summarize" "$RUN"
	[[ "$output" == *"this run has no bare-metal configuration: no % of bare metal"* ]]
}

# summary_of CELLS OUT: summary.awk on CELLS and the rows of the fixture's results.csv, into OUT.
summary_of() {
	awk -F, -v OFS='\t' 'NR > 1 { print $2, $5, "ok", $6, $7 }' "$RUN/results.csv" >"$BATS_TEST_TMPDIR/rows.tsv"
	awk -v run=run -v results=/dev/null -v summary="$2" -f "$ROOT/experiments/lib/summary.awk" "$1" "$BATS_TEST_TMPDIR/rows.tsv"
}

@test "the summary reads cells.tsv by its column names: the same summary.csv from reversed columns" {
	local cells=$BATS_TEST_TMPDIR/cells.tsv
	cp "$RUN/cells.tsv" "$cells"
	summary_of "$cells" "$BATS_TEST_TMPDIR/before.csv"
	reverse_columns "$cells" "	"
	summary_of "$cells" "$BATS_TEST_TMPDIR/after.csv"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/after.csv")" -eq 16 ]
	diff "$BATS_TEST_TMPDIR/before.csv" "$BATS_TEST_TMPDIR/after.csv"
	sed -i '1s/\tcell$/\tcells/' "$cells" # a cells.tsv without the column "cell": a clear error
	run summary_of "$cells" "$BATS_TEST_TMPDIR/after.csv"
	[ "$status" -eq 2 ]
	[ "$output" = "summary.awk: $cells has no column cell" ]
}
