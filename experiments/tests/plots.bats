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
	[ "$output" = "plot: 21 files in $RUN/figures" ]
	for f in a-pct-of-bare b-technique c-exits d-latency e-cpu f-per-io g-neighbour; do
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
	grep -q 'Example CPU, 2 cores' "$RUN/figures/fig-a-pct-of-bare.svg"
	grep -q 'full (exitless / thread / poll)' "$RUN/figures/fig-a-pct-of-bare.svg"
	grep -q 'throughput, % of bare metal' "$RUN/figures/fig-a-pct-of-bare.svg"
}

@test "the data of figure (a) are % of bare metal with the repetitions' extremes" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	grep -q "^4k	40	40	40	70	70	70	96.8182	95	99	50	50	50$" "$RUN/figures/data/a-randread-qd1.dat"
}

@test "the technique figure compares single-switch variants with baseline or full" {
	"$ROOT/plots/plot" "$RUN" >/dev/null
	grep -q "^completion irq→poll (full)	27	25	29	" "$RUN/figures/data/b-technique.dat"
}

@test "a run holding only bare metal still gets every figure" {
	awk -F'\t' 'NR == 1 || $3 == "bare"' "$RUN/cells.tsv" >"$RUN/cells.new"
	mv "$RUN/cells.new" "$RUN/cells.tsv"
	run "$ROOT/plots/plot" "$RUN"
	[ "$status" -eq 0 ]
	[ "$(find "$RUN/figures" -maxdepth 1 -name 'fig-*' -size +1k | wc -l)" -eq 21 ]
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
	[ "$(find "$BATS_TEST_TMPDIR/after" -name '*.dat' | wc -l)" -ge 10 ]
	diff -r -x panels.tsv "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	diff <(sed "s#/before/#/#" "$BATS_TEST_TMPDIR/before/panels.tsv") <(sed "s#/after/#/#" "$BATS_TEST_TMPDIR/after/panels.tsv")
	head -1 "$RUN/results.csv" | grep -q '^value,metric,'
}
