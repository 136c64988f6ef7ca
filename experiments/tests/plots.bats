#!/usr/bin/env bats
# experiments/tests/plots.bats - every figure is drawn in PNG, SVG and PDF, non-empty, from the fixture run;
# a run without the data of a figure still gets the figure (saying so).

load helpers

setup() {
	command -v gnuplot >/dev/null || skip "gnuplot not installed"
	RUN=$(fixture_run)
}

@test "every figure is produced in PNG, SVG and PDF and is not empty" {
	run "$ROOT/plots/plot" "$RUN"
	[ "$status" -eq 0 ]
	[ "$output" = "plot: 24 files in $RUN/figures" ]
	for f in a-pct-of-bare b-technique c-exits d-latency e-cpu f-per-io g-neighbour h-load; do
		[ -s "$RUN/figures/fig-$f.png" ]
		[ -s "$RUN/figures/fig-$f.svg" ]
		[ -s "$RUN/figures/fig-$f.pdf" ]
		[ "$(head -c 4 "$RUN/figures/fig-$f.png" | tail -c 3)" = PNG ]
		[ "$(head -c 4 "$RUN/figures/fig-$f.pdf")" = %PDF ]
		grep -q '<svg' "$RUN/figures/fig-$f.svg"
	done
}

@test "the figures carry the run id and machine, and the configurations' labels" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	grep -q 'run fixture' "$RUN/figures/fig-a-pct-of-bare.svg"
	grep -q 'CPU, 2 cores, Linux 6.18, KVM pvm' "$RUN/figures/fig-a-pct-of-bare.svg"
	grep -q '>QEMU, iothread+uring<' "$RUN/figures/fig-a-pct-of-bare.svg"
	grep -q '>% of bare metal<' "$RUN/figures/fig-a-pct-of-bare.svg"
}

@test "the data of figure (a) are % of bare metal with the repetitions' extremes" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	# one block size per pattern and depth: one panel, a cluster per workload
	grep -qF "4k rand\nqd1	40	40	40	70	70	70	96.8182	95	99	50	50	50" "$RUN/figures/data/a-workloads.dat"
}

@test "the technique figure compares single-switch variants with baseline or full" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	grep -q "^completion irq→poll (full)	27	25	29	" "$RUN/figures/data/b-technique.dat"
}

@test "the PDFs fit a paper column (3.4 in) or both (7 in), and no text is below 8 points" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	local f w
	for f in "$RUN"/figures/fig-*.pdf; do
		w=$(grep -ao 'MediaBox \[ 0 0 [0-9.]* ' "$f" | awk '{ print $5 }')
		[ "$w" = 244 ] || [ "$w" = 504 ] || { echo "$f: $w pt wide"; false; }
	done
	# the SVGs are drawn with the same layout at 72 units an inch: their font sizes are the PDFs'
	[ "$(grep -ho 'font-size="[0-9.]*"' "$RUN"/figures/fig-*.svg | sort -u)" = 'font-size="8.00"' ]
}

@test "a configuration has one colour, its own, in every figure" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	# configuration -> colour as every panel of figures a, c, d, e, f draws it (series titles are the labels)
	awk -F'\t' '$1 ~ /^[acdef]$/ { print $2 "\t" $6 }' "$RUN/figures/data/panels.tsv" | while IFS=$'\t' read -r f colours; do
		head -n 1 "$f" | tr '\t' '\n' | grep -v -x -e low -e high | tail -n +2 | paste - <(tr ' ' '\n' <<<"$colours")
	done | sort -u >"$BATS_TEST_TMPDIR/drawn"
	awk -F'\t' 'NR > 1 { print $13 "\t" $14 }' "$RUN/cells.tsv" | sort -u >"$BATS_TEST_TMPDIR/own"
	[ "$(cut -f1 "$BATS_TEST_TMPDIR/drawn" | uniq -d)" = "" ]
	join -t $'\t' "$BATS_TEST_TMPDIR/drawn" "$BATS_TEST_TMPDIR/own" | awk -F'\t' '$2 != $3 { bad = 1; print } END { exit bad }'
	[ "$(wc -l <"$BATS_TEST_TMPDIR/drawn")" -eq 5 ]
}

@test "figure c gives full mode's few exits a height and prints every value, a zero as 0" {
	local f
	for f in "$RUN"/cells/full/randread-4k-qd32/rep*/stats.json; do
		jq '.exits_per_io = 0 | .exits = 0' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
	for f in "$RUN"/cells/full/seqread-128k-qd32/rep*/stats.json; do
		jq '.exits_per_io = 2.15e-05' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
	"$ROOT/plots/plot" "$RUN" >/dev/null
	grep -qF "4k rand\nqd32	2	2	2	0.01	0.01	0.01	0	0	0" "$RUN/figures/data/c-exits.dat"
	# the axis reaches a decade below the smallest count (2.15e-5): 1e-6
	grep -q '>1e-06<' "$RUN/figures/fig-c-exits.svg"
	grep -q '>2e-3<' "$RUN/figures/fig-c-exits.svg"
	grep -q '>2.1e-5<' "$RUN/figures/fig-c-exits.svg"
	grep -q '>0<' "$RUN/figures/fig-c-exits.svg"
}

@test "figure d draws the lat distribution (submission to completion) of every configuration" {
	local f
	for f in "$RUN"/cells/*/randread-4k-qd1/rep*/{fio,guest}.json; do
		[ -f "$f" ] || continue
		jq '.jobs[0].read.lat_ns.percentile = {"50.000000": 40000, "99.000000": 90000, "99.900000": 150000}' "$f" >"$f.new"
		mv "$f.new" "$f"
	done
	jq '.jobs[0].read.lat_ns.percentile."50.000000" = 60000' "$RUN/cells/full/randread-4k-qd1/rep2/guest.json" >"$BATS_TEST_TMPDIR/g"
	mv "$BATS_TEST_TMPDIR/g" "$RUN/cells/full/randread-4k-qd1/rep2/guest.json"
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	"$ROOT/plots/plot" "$RUN" >/dev/null
	[ "$(head -n 1 "$RUN/figures/data/d-randread.dat")" = "$(printf 'percentile\tbare metal\tbaseline\t+ in-VMM emulation\tfull\tQEMU, iothread+uring')" ]
	# full: the median of 40 and 60 µs at p50
	grep -qx "$(printf '50\t40\t40\t40\t50\t40')" "$RUN/figures/data/d-randread.dat"
	grep -qx "$(printf '99.9\t150\t150\t150\t150\t150')" "$RUN/figures/data/d-randread.dat"
	grep -q '>latency, submission to completion (µs)<' "$RUN/figures/fig-d-latency.svg"
}

@test "a run holding only bare metal still gets every figure" {
	awk -F'\t' 'NR == 1 || $3 == "bare"' "$RUN/cells.tsv" >"$RUN/cells.new"
	mv "$RUN/cells.new" "$RUN/cells.tsv"
	run "$ROOT/plots/plot" "$RUN"
	[ "$status" -eq 0 ]
	[ "$(find "$RUN/figures" -maxdepth 1 -name 'fig-*' -size +1k | wc -l)" -eq 24 ]
}

@test "--out draws somewhere else; a folder that is not a run is an error" {
	run "$ROOT/plots/plot" "$RUN" --out "$BATS_TEST_TMPDIR/figs"
	[ "$status" -eq 0 ]
	[ -s "$BATS_TEST_TMPDIR/figs/fig-c-exits.png" ]
	run "$ROOT/plots/plot" "$BATS_TEST_TMPDIR/figs"
	[ "$status" -eq 2 ]
	[ "$output" = "plot: $BATS_TEST_TMPDIR/figs: not a run directory (no cells.tsv); runs are under results/" ]
}

@test "cells of the study that never ran (--only, an interrupted run) are left out of the figures" {
	printf 'full/seqread-4k-qd1\tfull\tvmm\tseqread-4k-qd1\tread\t4096\t1\texitless\tthread\tpoll\t-\t-\tfull\n' >>"$RUN/cells.tsv"
	run "$ROOT/plots/plot" "$RUN"
	[ "$status" -eq 0 ]
	[ ! -e "$RUN/figures/data/a-read-qd1.dat" ]
	[ -s "$RUN/figures/fig-a-pct-of-bare.png" ]
}

@test "the figures' data are read by column names: the same data files from reversed columns" {
	"$ROOT/experiments/collect" "$RUN" >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	awk -v dir="$BATS_TEST_TMPDIR/before" -f "$ROOT/plots/data.awk" "$RUN/cells.tsv" "$RUN/summary.csv" "$RUN/results.csv"
	reverse_columns "$RUN/cells.tsv" "	"
	reverse_columns "$RUN/summary.csv" ,
	reverse_columns "$RUN/results.csv" ,
	awk -v dir="$BATS_TEST_TMPDIR/after" -f "$ROOT/plots/data.awk" "$RUN/cells.tsv" "$RUN/summary.csv" "$RUN/results.csv"
	[ "$(find "$BATS_TEST_TMPDIR/after" -name "*.dat" | wc -l)" -eq 10 ]
	diff -r -x panels.tsv "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	diff <(sed "s#/before/#/#" "$BATS_TEST_TMPDIR/before/panels.tsv") <(sed "s#/after/#/#" "$BATS_TEST_TMPDIR/after/panels.tsv")
	head -1 "$RUN/results.csv" | grep -q '^value,metric,'
}

@test "figure h draws CPU per I/O and latency against the IOPS carried, for a run with an offered-rate job only" {
	local d
	"$ROOT/plots/plot" "$RUN" >/dev/null
	[ "$(grep '^h' "$RUN/figures/data/panels.tsv" | cut -f2)" = "$RUN/figures/data/h-none.dat" ]
	grep -q 'no data for this figure' "$RUN/figures/fig-h-load.svg"
	# the same run with its queue-depth-32 job renamed into an offered-rate one (a load study's job name)
	sed -i 's/randread-4k-qd32/randread-4k-qd1-1000iops/g' "$RUN/cells.tsv"
	for d in "$RUN"/cells/*/randread-4k-qd32; do mv "$d" "${d%qd32}qd1-1000iops"; done
	rm "$RUN/summary.csv" "$RUN/results.csv" # collected again by plot
	"$ROOT/plots/plot" "$RUN" >/dev/null
	[ "$(grep -c '^h' "$RUN/figures/data/panels.tsv")" = 3 ]
	# a row per job, an x (the cell's median IOPS) and a y (perf's CPU per I/O) per series: bare metal first
	[ "$(awk -F'\t' '$1 == "randread-4k-qd1-1000iops" { print $2, $3 }' "$RUN/figures/data/h-cpu.dat")" = \
		"$(csv_get "$RUN/summary.csv" bare/randread-4k-qd1-1000iops iops_median) $(csv_get "$RUN/summary.csv" bare/randread-4k-qd1-1000iops host_cpu_us_per_io)" ]
	grep -q '>host CPU per I/O (perf task-clock)<' "$RUN/figures/fig-h-load.svg"
	run grep -c 'no data for this figure' "$RUN/figures/fig-h-load.svg"
	[ "$output" = 0 ]
}
