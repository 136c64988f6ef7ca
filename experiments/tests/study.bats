#!/usr/bin/env bats
# experiments/tests/study.bats - study matrices parse; bad study names and bad matrix lines are one clear error.

load helpers

# bad_study TEXT: writes a study file holding TEXT; prints its path.
bad_study() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/bad.ini"
	echo "$BATS_TEST_TMPDIR/bad.ini"
}

@test "every shipped study parses and lists one command line per cell and repetition" {
	[ -d "$ROOT/workloads/jobs" ] || skip "workloads/jobs not present"
	for s in paper ablation qemu quick bench; do
		run "$ROOT/experiments/run" "$s" --list
		[ "$status" -eq 0 ] || { echo "$s: $output"; false; }
		[ "${#lines[@]}" -gt 0 ]
		[[ "${lines[0]}" == "cd "*" && experiments/run "*" --cell "*" --rep 1" ]]
	done
}

@test "the quick study has 3 jobs x 7 configurations x 2 repetitions" {
	[ -d "$ROOT/workloads/jobs" ] || skip "workloads/jobs not present"
	run "$ROOT/experiments/run" quick --list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 42 ]
	[ "$(printf '%s\n' "${lines[@]}" | grep -c -- '--cell full/randread-4k-qd1 ')" -eq 2 ]
}

@test "every shipped study with bare metal runs bare metal at its best beside it, on every job" {
	[ -d "$ROOT/workloads/jobs" ] || skip "workloads/jobs not present"
	local s cells n=0
	for s in "$ROOT"/experiments/studies/*.ini; do
		cells=$("$ROOT/experiments/run" "$s" --list --reps 1 | sed 's/.*--cell \([^ ]*\) .*/\1/')
		grep -q '^bare/' <<<"$cells" || continue
		n=$((n + 1))
		[ "$(grep -c '^bare/' <<<"$cells")" -eq "$(grep -c '^bare-best/' <<<"$cells")" ] || { echo "$s"; false; }
	done
	[ "$n" -ge 7 ]
}

@test "--reps and --only change the plan" {
	fixture_jobs
	run "$ROOT/experiments/run" quick --list --reps 3 --only 'full/*,bare/randread-4k-qd1'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 12 ]
}

@test "job lists expand {a,b}" {
	fixture_jobs
	run "$ROOT/experiments/run" "$FIX/studies/braces.ini" --list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 6 ]
	[[ "$output" == *"--cell full/randread-4k-qd32 "* ]]
}

@test "an unknown study name is one clear error, status 2" {
	run "$ROOT/experiments/run" nosuch
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == 'run: no study "nosuch" (experiments/studies/nosuch.ini); studies: '*quick* ]]
}

@test "a line that is not key = value names the file and line, status 2" {
	f=$(bad_study '[study]' 'jobs = randread-4k-qd1' 'this is not a setting')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "run: $f:3: expected \"key = value\", got: this is not a setting" ]
}

@test "an unknown key is named with its line" {
	f=$(bad_study '[study]' 'jobs = randread-4k-qd1' 'configs = full' 'repetitions = 3')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[[ "$output" == "run: $f:4: unknown study key \"repetitions\" (known: "* ]]
}

@test "a bad value says what is expected" {
	f=$(bad_study '[study]' 'jobs = randread-4k-qd1' 'configs = fast' '[config fast]' 'request = teleport')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: $f:5: request = teleport: expected exit, ioeventfd or exitless (build/vmm --switches)" ]
}

@test "an unknown section is an error" {
	f=$(bad_study '[studdy]' 'jobs = randread-4k-qd1')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: $f:1: unknown section [studdy]: expected [study] or [config NAME]" ]
}

@test "an undefined configuration is an error" {
	fixture_jobs
	f=$(bad_study '[study]' 'jobs = randread-4k-qd1' 'configs = bare turbo')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[[ "$output" == "run: $f: configuration \"turbo\" is not defined "* ]]
}

@test "a job without a job file is an error naming the file" {
	fixture_jobs
	f=$(bad_study '[study]' 'jobs = randread-3k-qd7' 'configs = bare')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: job \"randread-3k-qd7\" has no job file $FIX/jobs/randread-3k-qd7.fio (see workloads/jobs/)" ]
}

@test "a study without jobs is an error" {
	f=$(bad_study '[study]' 'configs = bare')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: $f: the [study] section needs \"jobs = ...\"" ]
}

@test "an unknown option is an error" {
	run "$ROOT/experiments/run" quick --fast
	[ "$status" -eq 2 ]
	[ "$output" = "run: unknown option --fast (see experiments/run --help)" ]
}

@test "the paper study covers seq and random reads, 4k to 1m, qd1 and qd32, five configurations and bare metal" {
	[ -d "$ROOT/workloads/jobs" ] || skip "workloads/jobs not present"
	run "$ROOT/experiments/run" paper --list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq $((2 * 6 * 2 * 7 * 3)) ]
	[[ "$output" == *"--cell full/seqread-1m-qd32 --rep 3"* ]]
	[[ "$output" == *"--cell qemu-iothread-uring/randread-4k-qd1 --rep 1"* ]]
}

@test "shuffle with a seed reorders cells within each repetition, differently in each, the same way every time" {
	fixture_jobs
	sed 's/^reps = 1$/reps = 2\nshuffle = 1234567890/' "$FIX/studies/braces.ini" >"$BATS_TEST_TMPDIR/shuf.ini"
	sed 's/^reps = 1$/reps = 2\nshuffle = no/' "$FIX/studies/braces.ini" >"$BATS_TEST_TMPDIR/plain.ini"
	a=$("$ROOT/experiments/run" "$BATS_TEST_TMPDIR/shuf.ini" --list --out /x | sed 's/.*--cell //')
	b=$("$ROOT/experiments/run" "$BATS_TEST_TMPDIR/shuf.ini" --list --out /x | sed 's/.*--cell //')
	plain=$("$ROOT/experiments/run" "$BATS_TEST_TMPDIR/plain.ini" --list --out /x | sed 's/.*--cell //')
	[ "$a" = "$b" ]
	[ "$a" != "$plain" ]
	[ "$(sort <<<"$a")" = "$(sort <<<"$plain")" ]
	[ "$(head -n 6 <<<"$a" | grep -c 'rep 1$')" -eq 6 ]
	[ "$(head -n 6 <<<"$a" | sed 's/ .*//')" != "$(tail -n 6 <<<"$a" | sed 's/ .*//')" ]
}

@test "--cost counts cells and runs and estimates minutes: ramp_time + runtime + start-up of each run" {
	fixture_jobs
	# 10 repetitions of bare (1 s + 0.4 s start-up) and of two VMM configurations (1 s + 1 s): 14 + 40 s
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --cost --reps 10
	[ "$status" -eq 0 ]
	[ "$output" = "stub: 3 cells, 30 runs, about 1 minute" ]
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --cost --reps 10 --runtime 20
	# 10 x 20.4 + 20 x 21 = 624 s
	[ "$output" = "stub: 3 cells, 30 runs, about 11 minutes" ]
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --list --reps 10 --out /x
	[ "${#lines[@]}" -eq 30 ]
}
