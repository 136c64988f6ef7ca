# experiments/lib/slurm.sh - a study fanned out in slices: one slice per job (workload), holding every
# shellcheck shell=bash disable=SC2034,SC2153 # sourced: globals shared with experiments/run
# configuration of that job, its bare-metal reference included, so a guest cell is only ever divided by bare
# metal measured on the same host. A slice is a run directory of its own, RUN/tasks/K/ (study, options,
# cells), run by `experiments/run --resume RUN/tasks/K` on whatever host takes it: a Slurm array task
# (--slurm, whole nodes) or a GNU parallel job (--slices prints the commands). experiments/collect merges
# the slices. docs/cluster.md.

SBATCH_ARGS=()   # options for sbatch (what follows --slurm on the command line)
SLURM_POLL=${EXITLESS_SLURM_POLL:-10}

# slices_write: RUN/fanout/slices (line K: the cells of slice K, comma-separated) and the run directories
# tasks/K/ with their study, configurations and options; on a resumed run, what is there already.
slices_write() {
	local k=0 job cells entry rep cell config j
	mkdir -p "$OUT/fanout" "$OUT/tasks"
	[ -f "$OUT/fanout/slices" ] && return 0
	for job in "${JOBS[@]}"; do
		cells=""
		for entry in "${PLAN[@]}"; do
			IFS=$'\t' read -r rep cell config j <<<"$entry"
			[ "$rep" = 1 ] && [ "$j" = "$job" ] && cells+="${cells:+,}$cell"
		done
		[ -n "$cells" ] || continue
		k=$((k + 1))
		echo "$cells" >>"$OUT/fanout/slices"
		mkdir -p "$OUT/tasks/$k"
		cp "$OUT/study.ini" "$OUT/configs.ini" "$OUT/tasks/$k/"
		sed "s|^only=.*|only=$cells|" "$OUT/run.conf" | grep -v '^slurm=' >"$OUT/tasks/$k/run.conf"
	done
}

# slices_pending: "LIST N": the slices with a planned repetition whose status is not ok, as a Slurm array list
# (1,3,4), and how many repetitions they have to run.
slices_pending() {
	local k=0 cells entry rep cell rest list="" n=0 mine
	while IFS= read -r cells; do
		k=$((k + 1)) mine=0
		for entry in "${PLAN[@]}"; do
			IFS=$'\t' read -r rep cell rest <<<"$entry"
			[[ ",$cells," == *",$cell,"* ]] || continue
			grep -q '^ok ' "$OUT/tasks/$k/cells/$cell/rep$rep/status" 2>/dev/null && continue
			mine=$((mine + 1))
		done
		[ "$mine" -eq 0 ] || list+="${list:+,}$k"
		n=$((n + mine))
	done <"$OUT/fanout/slices"
	echo "${list:--} $n"
}

# slices_prepare: the top run directory (study, options, cell table) and its slices.
slices_prepare() {
	mkdir -p "$OUT"
	[ -f "$OUT/study.ini" ] || cp "$STUDY_FILE" "$OUT/study.ini"
	[ -f "$OUT/configs.ini" ] || cp "$CONFIGS_FILE" "$OUT/configs.ini"
	run_conf_write
	grep -q '^slurm=' "$OUT/run.conf" || echo "slurm=$SLURM" >>"$OUT/run.conf"
	[ -f "$OUT/cells.tsv" ] || cells_table >"$OUT/cells.tsv"
	slices_write
}

# slices_list: one standalone command per slice (for GNU parallel over SSH hosts, or any scheduler).
slices_list() {
	local k n
	n=$(wc -l <"$OUT/fanout/slices")
	for ((k = 1; k <= n; k++)); do
		echo "cd $(shell_words "$ROOT") && experiments/run --resume $(shell_words "$OUT/tasks/$k")"
	done
}

# slurm_script: the batch script of an array task: its slice, on a whole node, the image on the node's own disk.
slurm_script() {
	cat <<-EOF
	#!/usr/bin/env bash
	#SBATCH --job-name=exitless-$STUDY_NAME
	#SBATCH --nodes=1
	#SBATCH --ntasks=1
	#SBATCH --exclusive
	#SBATCH --output=$OUT/fanout/task-%a.log
	# one slice of $OUT per array task (experiments/lib/slurm.sh)
	set -euo pipefail
	export EXITLESS_IMAGE_DIR=\${EXITLESS_IMAGE_DIR:-\${TMPDIR:-/tmp}/exitless-images}
	cd $(shell_words "$ROOT")
	exec experiments/run --resume $(shell_words "$OUT")/tasks/"\$SLURM_ARRAY_TASK_ID"
	EOF
}

# slurm_submit LIST: submits the slices in LIST as one job array; prints the job id.
slurm_submit() {
	local id
	command -v sbatch >/dev/null || die "sbatch not found: --slurm needs a Slurm client (Debian: slurm-client; ci/slurm-local starts a local one)"
	slurm_script >"$OUT/fanout/task.sh"
	[ "${#SBATCH_ARGS[@]}" -eq 0 ] || printf '%s\n' "${SBATCH_ARGS[@]}" >"$OUT/fanout/sbatch.args"
	touch "$OUT/fanout/submitted"
	id=$(sbatch --parsable --array="$1" "${SBATCH_ARGS[@]}" "$OUT/fanout/task.sh") || die "sbatch refused the job (see above)"
	id=${id%%;*}
	echo "$id" >>"$OUT/fanout/jobs"
	echo "$id"
}

# slurm_progress TOTAL START: a progress line per repetition finished since the submission, as the runner
# prints them; SEEN (an associative array of the caller's) holds those already told.
slurm_progress() {
	local total=$1 start=$2 f rel cell rep st secs el
	while IFS= read -r f; do
		[ -z "${SEEN[$f]:-}" ] || continue
		SEEN[$f]=1
		rel=${f#"$OUT"/tasks/*/cells/}
		cell=${rel%/rep*/status} rep=${rel%/status} rep=${rep##*/rep}
		read -r st _ <"$f"
		secs=$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' "$f")
		DONE=$((DONE + 1))
		el=$(awk -v a="$start" -v b="$(now_secs)" 'BEGIN { print b - a }')
		printf '[%*d/%d] %-40s rep %d  %-6s %5ss  elapsed %s  eta %s\n' "${#total}" "$DONE" "$total" "$cell" "$rep" \
			"$st" "$secs" "$(fmt_secs "$el")" "$(fmt_secs "$(awk -v e="$el" -v d="$DONE" -v n="$total" 'BEGIN { printf "%d", e / d * (n - d) }')")"
	done < <(find "$OUT/tasks" -path '*/rep*/status' -newer "$OUT/fanout/submitted" 2>/dev/null | sort)
}

# slurm_queued ID: whether a task of the job is still pending or running (a job Slurm no longer knows is not);
# exit 2 when squeue keeps failing (the controller is gone).
slurm_queued() {
	local out i
	for ((i = 0; i < 6; i++)); do
		if out=$(squeue -h -j "$1" -t PENDING,RUNNING,SUSPENDED,CONFIGURING,COMPLETING -o %i 2>&1); then
			[ -n "$out" ]
			return
		fi
		[[ "$out" != *"Invalid job id"* ]] || return 1
		sleep "$SLURM_POLL"
	done
	die "squeue fails: $out (the job may still be running: experiments/collect $OUT once it has left the queue)"
}

# slurm_wait ID TOTAL: waits until the job has left the queue, with the runner's progress lines.
slurm_wait() {
	local id=$1 total=$2 start
	local -A SEEN=()
	DONE=0
	start=$(now_secs)
	while slurm_queued "$id"; do
		slurm_progress "$total" "$start"
		sleep "$SLURM_POLL"
	done
	slurm_progress "$total" "$start"
}

# slurm_main: --slurm (submit, wait, collect), --slurm on a resumed run (the slices not finished), --slices.
slurm_main() {
	local list id todo n
	slices_prepare
	if [ "$SLURM" != 1 ]; then
		slices_list
		return 0
	fi
	# a resumed run submits with the options it was first given, unless new ones follow --slurm
	if [ "${#SBATCH_ARGS[@]}" -eq 0 ] && [ -f "$OUT/fanout/sbatch.args" ]; then mapfile -t SBATCH_ARGS <"$OUT/fanout/sbatch.args"; fi
	read -r list todo <<<"$(slices_pending)"
	if [ "$list" = - ]; then
		echo "run: every repetition is done; results in $OUT"
		"$ROOT/experiments/collect" "$OUT"
		return 0
	fi
	id=$(slurm_submit "$list")
	echo "run: study $STUDY_NAME, ${#PLAN[@]} runs in $(wc -l <"$OUT/fanout/slices") slices, Slurm job $id (array $list), results in $OUT"
	if [ "$NO_WAIT" = 1 ]; then
		echo "run: not waiting; when the job has left the queue (squeue -j $id): experiments/collect $OUT"
		return 0
	fi
	slurm_wait "$id" "$todo"
	"$ROOT/experiments/collect" "$OUT"
	n=$(find "$OUT/tasks" -path '*/rep*/status' -exec grep -l '^ok ' {} + 2>/dev/null | wc -l)
	echo "run: $n of ${#PLAN[@]} repetitions ok; results in $OUT"
	[ "$n" -eq "${#PLAN[@]}" ]
}
