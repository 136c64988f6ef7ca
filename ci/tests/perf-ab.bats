#!/usr/bin/env bats
# ci/tests/perf-ab.bats - ci/perf-ab end to end on a repository of its own (EXITLESS_AB_REPO) whose two commits
# build a stub VMM (experiments/tests/fixtures/ab-vmm) of 10,000 and 8,000 IOPS: worktrees and builds per
# revision, the interleaved order, --a-args/--b-args last on the command line, A/A passes, a slowdown is
# caught, confirmed by a re-run, and the exit status says so. A test of the tool, not a benchmark.

load ../../experiments/tests/helpers

setup() {
	stub_env
	export AB_LOG=$BATS_TEST_TMPDIR/calls.log EXITLESS_AB_REPO=$BATS_TEST_TMPDIR/repo
	local r=$EXITLESS_AB_REPO
	mkdir -p "$r"
	git -C "$r" init -q
	sed "s|@VMM@|$ROOT/build/vmm|" "$FIX/ab-vmm" >"$r/vmm.sh"
	# shellcheck disable=SC2016 # $$ and $@ are make's
	printf 'build/vmm: vmm.sh speed\n\tmkdir -p build\n\tsed "s/@SPEED@/$$(cat speed)/" vmm.sh >$@\n\tchmod +x $@\nbuild/guest.elf:\n\tmkdir -p build\n\ttouch $@\n' >"$r/Makefile"
	echo 10000 >"$r/speed"
	git -C "$r" add -A
	git -C "$r" -c user.name=t -c user.email=t@t commit -qm fast
	echo 8000 >"$r/speed"
	git -C "$r" -c user.name=t -c user.email=t@t commit -qam slow
	OUT=$BATS_TEST_TMPDIR/ab
}

# sides: the side of every VMM call so far, in order (A: its options hold --poll-us 3, B: --poll-us 7).
sides() {
	awk '{ print (/--poll-us 3 / ? "A" : (/--poll-us 7 / ? "B" : "?")) }' "$AB_LOG" | tr -d '\n'
}

@test "A/A: one worktree and build, rounds alternate A,B then B,A, --a-args/--b-args last, no regression" {
	run "$ROOT/ci/perf-ab" --study "$FIX/studies/ab-stub.ini" --reps 5 --out "$OUT" --a-args "--poll-us 3" \
		--b-args "--poll-us 7 --pin vcpu=0" HEAD~1 HEAD~1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^perf-ab: building' <<<"$output")" -eq 1 ]
	[ -x "$EXITLESS_AB_REPO/build/perf-ab/trees/$(git -C "$EXITLESS_AB_REPO" rev-parse --short=12 HEAD~1)/build/vmm" ]
	[ ! -e "$EXITLESS_AB_REPO/build/vmm" ]
	[ "$(sides)" = ABBAABBAAB ]
	[ "$(grep -c -- ' --poll-us 3 [^ ]*/guest.elf$' "$AB_LOG")" -eq 5 ]
	[ "$(grep -c -- ' --poll-us 7 --pin vcpu=0 [^ ]*/guest.elf$' "$AB_LOG")" -eq 5 ]
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +iops +10040 +9960 +-0\.8% +0\.[0-9]{4} +ok$'
	[ "${lines[-1]}" = "perf-ab: 7 checks, 0 regressions" ]
	jq -e '.tool == "perf-ab" and .regressions == 0 and (.checks | length) == 7 and .b.vmm_args == "--poll-us 7 --pin vcpu=0"' "$OUT/perf-ab.json"
}

@test "a 20 % slower revision is caught with p and effect, confirmed by a re-run, status 1" {
	run "$ROOT/ci/perf-ab" --study "$FIX/studies/ab-stub.ini" --reps 5 --out "$OUT" HEAD~1 HEAD
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"perf-ab: 1 cells flagged; 5 more rounds of them before a verdict"* ]]
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +iops +10000 +8000 +-20\.0% +<0\.0001 +REGRESSION \(confirmed by a re-run of 10 against 10\)$'
	echo "$output" | grep -Eq '^full/randread-4k-qd1 +cpu_us_per_io +200 +250(\.[0-9])? +\+25\.0% +<0\.0001 +REGRESSION'
	[ "${lines[-1]}" = "perf-ab: 7 checks, 3 regressions" ]
	jq -e '.regressions == 3 and ([.checks[] | select(.metric == "iops")][0] | .p < 0.001 and .change_pct == -20 and .rerun == "confirmed")' "$OUT/perf-ab.json"
	[ "$(wc -l <"$AB_LOG")" -eq 20 ]
}

@test "a revision that does not exist or does not build, or a wrong option, is one line and status 2" {
	run "$ROOT/ci/perf-ab" --study "$FIX/studies/ab-stub.ini" HEAD nosuchrev
	[ "$status" -eq 2 ]
	[ "$output" = "perf-ab: nosuchrev: no such revision in $EXITLESS_AB_REPO" ]
	run "$ROOT/ci/perf-ab" HEAD
	[ "$status" -eq 2 ]
	[ "$output" = "perf-ab: usage: ci/perf-ab [options] REV_A REV_B (see --help)" ]
	run "$ROOT/ci/perf-ab" --floor iops=x HEAD HEAD
	[ "$status" -eq 2 ]
	[ "$output" = "perf-ab: --floor iops=x: expected a percentage, e.g. iops=3" ]
	echo broken >"$EXITLESS_AB_REPO/Makefile"
	git -C "$EXITLESS_AB_REPO" -c user.name=t -c user.email=t@t commit -qam broken
	run "$ROOT/ci/perf-ab" --study "$FIX/studies/ab-stub.ini" --reps 5 --out "$OUT" HEAD~1 HEAD
	[ "$status" -eq 2 ]
	[[ "${lines[-1]}" =~ ^"perf-ab: HEAD does not build: see $EXITLESS_AB_REPO/build/perf-ab/trees/"[0-9a-f]{12}".build.log"$ ]]
}
