#!/usr/bin/env bats
# experiments/tests/run.bats - the runner: a failing cell is recorded and the run goes on; resume; the run
# directory layout; job copies; images written in full; timeouts; a listed command line runs on its own.
# Uses the stub VMM and stub fio (fixtures/), except one test with the real fio on a small image.

load helpers

setup() {
	stub_env
	OUTDIR=$BATS_TEST_TMPDIR/out
}

@test "a failing cell is recorded and the run continues" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[6/6] "* ]]
	[[ "$output" == *"run: 4 ok, 2 failed, 0 already done; results in $OUTDIR"* ]]
	for r in 1 2; do
		grep -q '^ok rc=0 ' "$OUTDIR/cells/full/randread-4k-qd1/rep$r/status"
		grep -q '^ok rc=0 ' "$OUTDIR/cells/bare/randread-4k-qd1/rep$r/status"
		grep -q '^failed rc=1 .*reason=I/O error or verify mismatch (see console.log)$' "$OUTDIR/cells/broken/randread-4k-qd1/rep$r/status"
	done
	[ -s "$OUTDIR/cells/full/randread-4k-qd1/rep1/guest.json" ]
	[ -s "$OUTDIR/cells/full/randread-4k-qd1/rep1/stats.json" ]
	[ -s "$OUTDIR/cells/bare/randread-4k-qd1/rep2/fio.json" ]
}

@test "cells run rep-major: every cell once, then every cell again" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	order=$(printf '%s\n' "${lines[@]}" | sed -n 's/^\[[0-9]*\/6\] \([^ ]*\) *rep \([0-9]\).*/\1 \2/p' | tr '\n' ';')
	[ "$order" = "bare/randread-4k-qd1 1;full/randread-4k-qd1 1;broken/randread-4k-qd1 1;bare/randread-4k-qd1 2;full/randread-4k-qd1 2;broken/randread-4k-qd1 2;" ]
}

@test "the run directory holds metadata, the cell table, job copies and one cmd per repetition" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	jq -e '.format == 1 and .study == "stub" and .host.cores > 0 and (.host.kvm_flavor | test("^(pvm|vmx|svm|none)$"))' "$OUTDIR/meta.json"
	jq -e '.commands | length == 6' "$OUTDIR/meta.json"
	jq -e '.git.commit | length > 0' "$OUTDIR/meta.json"
	[ "$(head -n 1 "$OUTDIR/cells.tsv" | cut -f1-7)" = "$(printf 'cell\tconfig\tkind\tjob\trw\tbs\tiodepth')" ]
	grep -q "^full/randread-4k-qd1	full	vmm	randread-4k-qd1	randread	4096	1	exitless	auto	poll" "$OUTDIR/cells.tsv"
	grep -q -- '--request exitless --emulation auto --completion poll' "$OUTDIR/cells/full/randread-4k-qd1/rep1/cmd"
	grep -qF -- "--disk $BATS_TEST_TMPDIR/images/image-16M.img,backend=uring " "$OUTDIR/cells/full/randread-4k-qd1/rep1/cmd"
	[ -f "$OUTDIR/study.ini" ] && [ -f "$OUTDIR/configs.ini" ] && [ -f "$OUTDIR/run.conf" ]
}

@test "job copies take the study's runtime; the host copy forces O_DIRECT io_uring and drops filename" {
	printf '[global]\nruntime=30s\nfilename=/dev/null\ndirect=0\n[j]\nrw=randread\nbs=4k\n' >"$BATS_TEST_TMPDIR/j.fio"
	mkdir -p "$BATS_TEST_TMPDIR/jobs"
	mv "$BATS_TEST_TMPDIR/j.fio" "$BATS_TEST_TMPDIR/jobs/randread-4k-qd1.fio"
	EXITLESS_JOBS_DIR=$BATS_TEST_TMPDIR/jobs run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --only 'bare/*' --reps 1
	[ "$status" -eq 0 ]
	grep -qx 'runtime=1' "$OUTDIR/jobs/randread-4k-qd1.fio"
	grep -qx 'ramp_time=0' "$OUTDIR/jobs/randread-4k-qd1.fio"
	grep -qx 'direct=0' "$OUTDIR/jobs/randread-4k-qd1.fio"
	grep -qx 'direct=1' "$OUTDIR/jobs/randread-4k-qd1.host.fio"
	grep -qx 'ioengine=io_uring' "$OUTDIR/jobs/randread-4k-qd1.host.fio"
	run grep -q '^filename' "$OUTDIR/jobs/randread-4k-qd1.host.fio"
	[ "$status" -eq 1 ]
	run grep -q 'runtime=30s' "$OUTDIR/jobs/randread-4k-qd1.host.fio"
	[ "$status" -eq 1 ]
}

@test "--resume skips finished repetitions and runs the rest" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	rm "$OUTDIR/cells/full/randread-4k-qd1/rep2/status"
	run "$ROOT/experiments/run" --resume "$OUTDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"run: 1 ok, 2 failed, 3 already done"* ]]
	grep -q '^ok ' "$OUTDIR/cells/full/randread-4k-qd1/rep2/status"
}

@test "a listed command line runs its cell on its own" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --list --only 'full/*'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	run bash -c "${lines[1]}"
	[ "$status" -eq 0 ]
	grep -q '^ok ' "$OUTDIR/cells/full/randread-4k-qd1/rep2/status"
	[ ! -e "$OUTDIR/cells/full/randread-4k-qd1/rep1" ]
}

@test "a cell that hangs is stopped and recorded as a timeout" {
	printf '[study]\njobs = randread-4k-qd1\nconfigs = bare\nreps = 1\ntimeout = 1\nimage_size = 16M\n' >"$BATS_TEST_TMPDIR/slow.ini"
	STUB_FIO_SLEEP=30 run "$ROOT/experiments/run" "$BATS_TEST_TMPDIR/slow.ini" --out "$OUTDIR"
	[ "$status" -eq 1 ]
	grep -q '^failed rc=124 .*reason=timeout after 1 s$' "$OUTDIR/cells/bare/randread-4k-qd1/rep1/status"
}

@test "the image is written in full and reused" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --only 'bare/*' --reps 1
	[ "$status" -eq 0 ]
	img=$EXITLESS_IMAGE_DIR/image-16M.img
	[ "$(stat -c %s "$img")" -eq 16777216 ]
	[ "$(($(stat -c %b "$img") * 512))" -ge 16777216 ]
	before=$(stat -c %Y.%i "$img")
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR.2" --only 'bare/*' --reps 1
	[ "$(stat -c %Y.%i "$img")" = "$before" ]
	[[ "$output" != *"preparing"* ]]
}

@test "a sparse image given with --disk is refused" {
	truncate -s 16M "$BATS_TEST_TMPDIR/sparse.img"
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --disk "$BATS_TEST_TMPDIR/sparse.img"
	[ "$status" -eq 2 ]
	[[ "$output" == "run: $BATS_TEST_TMPDIR/sparse.img is sparse (0 of 16777216 bytes allocated): write it in full "* ]]
}

@test "a missing VMM is one clear error" {
	EXITLESS_VMM=/nonexistent/vmm run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	[ "$status" -eq 2 ]
	[ "$output" = "run: /nonexistent/vmm is missing: run make" ]
}

@test "bare metal runs the real fio on a fully written image" {
	command -v fio >/dev/null || skip "fio not installed"
	unset EXITLESS_FIO
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --only 'bare/*' --reps 1
	[ "$status" -eq 0 ]
	jq -e '.jobs[0].read.total_ios > 0 and .jobs[0]["job options"].rw == "randread"' "$OUTDIR/cells/bare/randread-4k-qd1/rep1/fio.json"
	jq -e '."global options".direct == "1" and ."global options".ioengine == "io_uring"' "$OUTDIR/cells/bare/randread-4k-qd1/rep1/fio.json"
}

@test "guest = linux boots the Linux image with --initrd; refused where KVM is PVM or the image is missing" {
	export EXITLESS_LINUX_KERNEL=$BATS_TEST_TMPDIR/vmlinux EXITLESS_LINUX_INITRD=$BATS_TEST_TMPDIR/initramfs.cpio
	run "$ROOT/experiments/run" "$FIX/studies/linux.ini" --out "$OUTDIR"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is missing: run make linux-guest"* ]]
	touch "$EXITLESS_LINUX_KERNEL" "$EXITLESS_LINUX_INITRD"
	EXITLESS_STUB_FLAVOR=pvm run "$ROOT/experiments/run" "$FIX/studies/linux.ini" --out "$OUTDIR.pvm"
	[ "$status" -eq 2 ]
	[[ "$output" == *"KVM here is PVM"* ]]
	run "$ROOT/experiments/run" "$FIX/studies/linux.ini" --out "$OUTDIR"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	grep -qF -- "--mem 512 " "$OUTDIR/cells/full/randread-4k-qd1/rep1/cmd"
	grep -qF -- "--initrd $EXITLESS_LINUX_INITRD $EXITLESS_LINUX_KERNEL" "$OUTDIR/cells/full/randread-4k-qd1/rep1/cmd"
	run grep -qF -- "--initrd" "$OUTDIR/cells/bare/randread-4k-qd1/rep1/cmd"
	[ "$status" -eq 1 ]
}
