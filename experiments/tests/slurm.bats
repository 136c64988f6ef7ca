#!/usr/bin/env bats
# experiments/tests/slurm.bats - a study fanned out in slices (one per job, each with its own bare metal) and
# merged by the collector: submitted with --slurm to a real single-node Slurm (ci/slurm-local: Debian's
# slurmctld, slurmd and munge on localhost, started and stopped here), and run by GNU parallel from --slices.
# The cells run the stub VMM and fio (fixtures/): this tests the plumbing, in a few seconds.

load helpers

setup_file() {
	export SLURM_LOCAL_DIR=$BATS_FILE_TMPDIR/slurm SLURM_CONF=$BATS_FILE_TMPDIR/slurm/slurm.conf
	if command -v slurmctld slurmd sbatch munged >/dev/null; then
		"$BATS_TEST_DIRNAME/../../ci/slurm-local" start >&3
	fi
}

teardown_file() {
	[ ! -f "$SLURM_CONF" ] || "$BATS_TEST_DIRNAME/../../ci/slurm-local" stop >&3
}

setup() {
	stub_env
	export EXITLESS_SLURM_POLL=1
	OUTDIR=$BATS_TEST_TMPDIR/out
}

# need_slurm: skips a test when the local Slurm is not there (make deps installs it).
need_slurm() {
	"$ROOT/ci/slurm-local" status >/dev/null || skip "no local Slurm (make deps installs slurmctld, slurmd, slurm-client, munge)"
}

# queue_empty: waits until the local Slurm has no job left (30 s at most).
queue_empty() {
	local i
	for ((i = 0; i < 60; i++)); do
		[ -n "$(squeue -h -o %A)" ] || return 0
		sleep 0.5
	done
	return 1
}

@test "--slurm runs one array task per job on Slurm, waits with progress, and the collector merges the slices" {
	need_slurm
	run "$ROOT/experiments/run" "$FIX/studies/fanout.ini" --out "$OUTDIR" --slurm --time=5
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"run: study fanout, 8 runs in 2 slices, Slurm job "[0-9]+" (array 1,2), results in $OUTDIR"$ ]]
	[[ "$output" == *"[8/8] "* ]]
	[ "${lines[-1]}" = "run: 8 of 8 repetitions ok; results in $OUTDIR" ]
	grep -qx -- '--time=5' "$OUTDIR/fanout/sbatch.args"
	grep -qx '#SBATCH --exclusive' "$OUTDIR/fanout/task.sh"
	# each slice holds one job with its bare metal, and was run on the node
	[ "$(ls "$OUTDIR/tasks/1/cells/bare" "$OUTDIR/tasks/1/cells/full")" = "$(printf '%s:\nrandread-4k-qd1\n\n%s:\nrandread-4k-qd1' "$OUTDIR/tasks/1/cells/bare" "$OUTDIR/tasks/1/cells/full")" ]
	[ "$(ls "$OUTDIR/tasks/2/cells/full")" = randread-4k-qd32 ]
	jq -e --arg h "$(hostname -s)" '.host.name == $h' "$OUTDIR/tasks/2/meta.json"
	[ -f "$OUTDIR/tasks/1/hosts/$(hostname -s).json" ]
	# merged: one summary of every cell, the ratio to the bare metal of the same slice, one meta.json
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd32 reps_ok)" = 2 ]
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd1 pct_of_bare)" = 99 ]
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd32 pct_of_bare)" = 99 ]
	jq -e '(.hosts | length) == 2 and (.commands | length) == 8' "$OUTDIR/meta.json"
}

@test "--no-wait returns at once; --resume of a Slurm run submits only the slices with repetitions left" {
	need_slurm
	run "$ROOT/experiments/run" "$FIX/studies/fanout.ini" --out "$OUTDIR" --no-wait --slurm
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "run: not waiting; when the job has left the queue (squeue -j "*"): experiments/collect $OUTDIR" ]]
	queue_empty
	rm "$OUTDIR/tasks/2/cells/full/randread-4k-qd32/rep2/status"
	run "$ROOT/experiments/run" --resume "$OUTDIR"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"(array 2)"* ]]
	[[ "$output" == *"[1/1] full/randread-4k-qd32"*" rep 2  ok"* ]]
	[ "${lines[-1]}" = "run: 8 of 8 repetitions ok; results in $OUTDIR" ]
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd32 reps_ok)" = 2 ]
}

@test "--slices prints a command per slice; GNU parallel runs them and the collector merges them" {
	command -v parallel >/dev/null || skip "GNU parallel is not installed (make deps)"
	run "$ROOT/experiments/run" "$FIX/studies/fanout.ini" --out "$OUTDIR" --slices
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "cd $ROOT && experiments/run --resume $OUTDIR/tasks/2" ]
	printf '%s\n' "${lines[@]}" | parallel -j2 --joblog "$BATS_TEST_TMPDIR/joblog" >/dev/null
	[ "$(awk 'NR > 1 && $7 == 0' "$BATS_TEST_TMPDIR/joblog" | wc -l)" -eq 2 ]
	"$ROOT/experiments/collect" "$OUTDIR" >/dev/null
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd1 pct_of_bare)" = 99 ]
}

# rehost RUN REPDIR HOST: the repetition's status names HOST.
rehost() {
	sed -i "s/ host=[^ ]*/ host=$3/" "$1/$2/status"
}

@test "a repetition is divided only by bare metal of its host; hosts of different kinds never share a ratio" {
	"$ROOT/experiments/run" "$FIX/studies/fanout.ini" --out "$OUTDIR" --slices | bash >/dev/null
	local t=$OUTDIR/tasks/1 h
	h=$(hostname -s)
	# another host of the same kind ran full's rep 2: no per-repetition ratio for it, the ratio of medians stays
	jq '.name = "twin"' "$t/hosts/$h.json" >"$t/hosts/twin.json"
	rehost "$t" cells/full/randread-4k-qd1/rep2 twin
	"$ROOT/experiments/collect" "$OUTDIR" >/dev/null
	[ "$(rep_value "$OUTDIR/results.csv" full/randread-4k-qd1 1 pct_of_bare)" = 99 ]
	[ -z "$(rep_value "$OUTDIR/results.csv" full/randread-4k-qd1 2 pct_of_bare)" ]
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd1 pct_of_bare)" = 99 ]
	# a host of another kind: no ratio at all for that job, and a warning; the other slice keeps its own
	jq '.name = "other" | .cpu_model = "Other CPU"' "$t/hosts/$h.json" >"$t/hosts/other.json"
	rehost "$t" cells/full/randread-4k-qd1/rep2 other
	run "$ROOT/experiments/collect" "$OUTDIR"
	[ "$status" -eq 0 ]
	[[ "$output" == *"collect: warning: job randread-4k-qd1 ran on hosts of different kinds ("*"; Other CPU | 2 cores | "*"): no ratio to bare metal for it"* ]]
	[ -z "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd1 pct_of_bare)" ]
	[ "$(csv_get "$OUTDIR/summary.csv" full/randread-4k-qd32 pct_of_bare)" = 99 ]
}
