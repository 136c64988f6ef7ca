# experiments/tests/helpers.bash - shared set-up of the experiment-kit tests (loaded by every *.bats here).

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
FIX=$ROOT/experiments/tests/fixtures

# fixture_run: a private copy of the fixture run directory; prints its path.
fixture_run() {
	cp -r "$FIX/run" "$BATS_TEST_TMPDIR/run"
	echo "$BATS_TEST_TMPDIR/run"
}

# csv_get FILE CELL COLUMN: one field of a summary.csv row.
csv_get() {
	awk -F, -v cell="$2" -v name="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["cell"] == cell { print $col[name] }' "$1"
}

# rep_value RESULTS CELL REP METRIC: one value of a results.csv.
rep_value() {
	awk -F, -v c="$2" -v r="$3" -v m="$4" '$2 == c && $5 == r && $6 == m { print $7 }' "$1"
}

# reverse_columns FILE SEP: FILE with its columns in the opposite order (the header row with them).
reverse_columns() {
	awk -F"$2" -v OFS="$2" '{ for (i = NF; i > 1; i--) printf "%s%s", $i, OFS; print $1 }' "$1" >"$1.new"
	mv "$1.new" "$1"
}

# fixture_jobs: the runner reads the fixture job files instead of workloads/jobs.
fixture_jobs() {
	export EXITLESS_JOBS_DIR=$FIX/jobs
}

# stub_env: the runner uses the stub VMM and fio, the fixture jobs and a private image folder.
stub_env() {
	export EXITLESS_VMM=$FIX/stub-vmm EXITLESS_GUEST=$FIX/stub-vmm EXITLESS_FIO=$FIX/stub-fio
	export EXITLESS_JOBS_DIR=$FIX/jobs EXITLESS_IMAGE_DIR=$BATS_TEST_TMPDIR/images EXITLESS_PERF=0 EXITLESS_BUSY_SECS=0
	fake_hugepages 0
}

# fake_hugepages FREE: a made-up hugepage pool (nr_hugepages, free_hugepages) for the runner, so the tests never
# change the host's; prints nothing.
fake_hugepages() {
	export EXITLESS_HUGEPAGES_DIR=$BATS_TEST_TMPDIR/hugepages
	mkdir -p "$EXITLESS_HUGEPAGES_DIR"
	echo 0 >"$EXITLESS_HUGEPAGES_DIR/nr_hugepages"
	echo "${1:-0}" >"$EXITLESS_HUGEPAGES_DIR/free_hugepages"
}
