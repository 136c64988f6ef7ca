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

# run_order OUTPUT: the "cell rep" of every progress line, ';'-separated.
run_order() {
	sed -n 's/^\[[0-9]*\/[0-9]*\] \([^ ]*\) *rep \([0-9]\).*/\1 \2/p' <<<"$1" | tr '\n' ';'
}

@test "cells run rep-major, shuffled within each repetition by default" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	order=$(run_order "$output")
	rep1=$(tr ';' '\n' <<<"$order" | head -n 3)
	rep2=$(tr ';' '\n' <<<"$order" | sed -n 4,6p)
	[ "$(grep -c ' 1$' <<<"$rep1")" -eq 3 ]
	[ "$(sort <<<"$rep1" | sed 's/ 1$//' | tr '\n' ' ')" = "bare/randread-4k-qd1 broken/randread-4k-qd1 full/randread-4k-qd1 " ]
	[ "$(sort <<<"$rep2" | sed 's/ 2$//' | tr '\n' ' ')" = "bare/randread-4k-qd1 broken/randread-4k-qd1 full/randread-4k-qd1 " ]
}

@test "the drawn seed is recorded in meta.json and run.conf, and gives the same order again" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 3
	order=$(run_order "$output")
	seed=$(jq -r '.study_settings.shuffle_seed' "$OUTDIR/meta.json")
	[[ "$seed" =~ ^[0-9]+$ ]]
	grep -qx "shuffle_seed=$seed" "$OUTDIR/run.conf"
	sed "s/^reps = 2\$/reps = 3\nshuffle = $seed/" "$FIX/studies/stub.ini" >"$BATS_TEST_TMPDIR/seeded.ini"
	again=$("$ROOT/experiments/run" "$BATS_TEST_TMPDIR/seeded.ini" --list --out /x | sed 's/.*--cell \([^ ]*\) --rep \([0-9]*\)$/\1 \2/' | tr '\n' ';')
	[ "$again" = "$order" ]
}

@test "shuffle = no runs the cells in the study's order" {
	sed 's/^reps = 2$/reps = 2\nshuffle = no/' "$FIX/studies/stub.ini" >"$BATS_TEST_TMPDIR/ordered.ini"
	run "$ROOT/experiments/run" "$BATS_TEST_TMPDIR/ordered.ini" --out "$OUTDIR"
	[ "$(run_order "$output")" = "bare/randread-4k-qd1 1;full/randread-4k-qd1 1;broken/randread-4k-qd1 1;bare/randread-4k-qd1 2;full/randread-4k-qd1 2;broken/randread-4k-qd1 2;" ]
	jq -e '.study_settings.shuffle == "no" and .study_settings.shuffle_seed == null' "$OUTDIR/meta.json"
}

@test "the run directory holds metadata, the cell table, job copies and one cmd per repetition" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR"
	jq -e '.format == 1 and .study == "stub" and .host.cores > 0 and (.host.kvm_flavor | test("^(pvm|vmx|svm|unknown)$"))' "$OUTDIR/meta.json"
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

@test "the runner grows the hugepage pool for the study's VMs and fio buffers, records it and restores it" {
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1
	# guest RAM 256 MiB = 128 pages, + 32 for fio's buffers on hugepages (none in stub.ini: no bare-best)
	jq -e '.host_memory.changed.hugepages == {before: "0", asked: "160", got: "160"}' "$OUTDIR/meta.json"
	jq -e '.host_memory.hugepages_policy | startswith("default")' "$OUTDIR/meta.json"
	[ "$(cat "$EXITLESS_HUGEPAGES_DIR/nr_hugepages")" = 0 ]
}

@test "pages already free count; a study's hugepages = 0 opts out and says so" {
	fake_hugepages 100
	echo 100 >"$EXITLESS_HUGEPAGES_DIR/nr_hugepages"
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1
	jq -e '.host_memory.changed.hugepages == {before: "100", asked: "160", got: "160"}' "$OUTDIR/meta.json"
	sed 's/^reps = 2$/reps = 1\nhugepages = 0/' "$FIX/studies/stub.ini" >"$BATS_TEST_TMPDIR/nohuge.ini"
	run "$ROOT/experiments/run" "$BATS_TEST_TMPDIR/nohuge.ini" --out "$OUTDIR.2"
	jq -e '.host_memory.changed == {} and .host_memory.hugepages_policy == "opted out (hugepages = 0)"' "$OUTDIR.2/meta.json"
}

@test "a pool the host will not grow is a warning naming what it means" {
	# a number no one may write, root included
	ln -sf /proc/sys/kernel/ngroups_max "$EXITLESS_HUGEPAGES_DIR/nr_hugepages"
	run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1
	[[ "$output" == *"run: warning: only 0 of the 160 free 2 MiB hugepages this study needs could be reserved"* ]]
}

@test "meta.json records the host's settings: governor, boost, SMT, mitigations, command line, halt_poll_ns, disk" {
	local sys=$BATS_TEST_TMPDIR/sys proc=$BATS_TEST_TMPDIR/proc
	mkdir -p "$sys/devices/system/cpu/cpu0/cpufreq" "$sys/devices/system/cpu/smt" "$sys/devices/system/cpu/vulnerabilities" \
		"$sys/devices/system/cpu/intel_pstate" "$sys/module/kvm/parameters" "$proc"
	echo performance >"$sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
	echo 1 >"$sys/devices/system/cpu/intel_pstate/no_turbo"
	echo 1 >"$sys/devices/system/cpu/smt/active"
	echo on >"$sys/devices/system/cpu/smt/control"
	echo "Mitigation: PTI" >"$sys/devices/system/cpu/vulnerabilities/meltdown"
	echo 200000 >"$sys/module/kvm/parameters/halt_poll_ns"
	echo "root=/dev/vda mitigations=off" >"$proc/cmdline"
	echo "0.10 0.20 0.30 1/100 4242" >"$proc/loadavg"
	EXITLESS_SYSFS=$sys EXITLESS_PROC=$proc run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1
	jq -e '.host_settings | .cpu_governor == "performance" and .cpu_boost == "off" and .smt == {active: true, control: "on"}
		and .vulnerabilities == {meltdown: "Mitigation: PTI"} and .kernel_cmdline == "root=/dev/vda mitigations=off"
		and .kvm_halt_poll_ns == 200000 and .load_average == [0.1, 0.2, 0.3]' "$OUTDIR/meta.json"
	jq -e '.disk | has("model") and has("scheduler") and .file_system != null' "$OUTDIR/meta.json"
}

@test "a busy machine is a warning before the study starts" {
	local proc=$BATS_TEST_TMPDIR/proc
	mkdir -p "$proc"
	echo "1.50 0.90 0.40 3/100 4242" >"$proc/loadavg"
	mkfifo "$proc/stat"
	# two snapshots of /proc/stat: 60 of 100 ticks busy in between (each written by its own open of the FIFO,
	# a moment apart, so the runner's first read ends before the second is written)
	{ echo "cpu 100 0 100 800 0 0 0 0 0 0" >"$proc/stat"; sleep 0.3; echo "cpu 150 0 110 840 0 0 0 0 0 0" >"$proc/stat"; } &
	EXITLESS_PROC=$proc run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1
	[[ "$output" == *"run: warning: the machine is busy: 60 % of its CPU time went to other processes in the last second (load average 1.50 0.90 0.40)"* ]]
	jq -e '.host_settings.busy_pct == 60' "$OUTDIR/meta.json"
}

@test "no tracing while a cell is timed; --exit-reasons traces each VM cell once more, after the timed ones" {
	local sys=$BATS_TEST_TMPDIR/sys bin=$BATS_TEST_TMPDIR/bin log=$BATS_TEST_TMPDIR/perf.log
	mkdir -p "$sys/module/kvm_amd" "$bin"
	ln -s "$FIX/stub-perf" "$bin/perf"
	PATH=$bin:$PATH EXITLESS_SYSFS=$sys STUB_PERF_LOG=$log EXITLESS_PERF=1 \
		run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1 --only 'bare/*,full/*'
	[ "$status" -eq 0 ]
	[ "$(grep -c '^stat$' "$log")" -ge 2 ]
	run grep -c '^kvm-record' "$log"
	[ "$output" = 0 ]
	[ ! -e "$OUTDIR/cells/full/randread-4k-qd1/exit-reasons" ]
	: >"$log"
	PATH=$bin:$PATH EXITLESS_SYSFS=$sys STUB_PERF_LOG=$log EXITLESS_PERF=1 \
		run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR.2" --reps 1 --only 'bare/*,full/*' --exit-reasons
	[ "$status" -eq 0 ]
	# the timed cells (perf stat) all come first, then one traced run of the VM cell only
	[ "$(grep -v '^stat$' "$log" | head -n 1 | cut -c1-10)" = kvm-record ]
	[ "$(sed -n '/^kvm-record/,$p' "$log" | grep -c '^stat$')" -eq 0 ]
	[ "$(grep -c '^kvm-record' "$log")" -eq 1 ]
	grep -q -- '--request exitless' <(grep '^kvm-record' "$log")
	grep -qx 'stub exits by reason' "$OUTDIR.2/cells/full/randread-4k-qd1/exit-reasons/perf-kvm.txt"
	jq -e '.perf.exit_reasons_pass == true and .perf.kvm_stat == true' "$OUTDIR.2/meta.json"
	[ -s "$OUTDIR.2/cells/full/randread-4k-qd1/rep1/perf.csv" ]
}

@test "where perf stat counts nothing, the run says why and so does every cell's summary row" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	ln -s "$FIX/stub-perf" "$bin/perf"
	PATH=$bin:$PATH EXITLESS_PERF=1 STUB_PERF_BROKEN=1 \
		run "$ROOT/experiments/run" "$FIX/studies/stub.ini" --out "$OUTDIR" --reps 1 --only 'bare/*,full/*'
	[ "$status" -eq 0 ]
	jq -e '.perf.stat_events == "" and .perf.missing == "perf stat does not count task-clock here: <not supported>,,task-clock,0,100.00,,"' "$OUTDIR/meta.json"
	"$ROOT/experiments/collect" "$OUTDIR" >/dev/null
	[ "$(csv_get "$OUTDIR/summary.csv" bare/randread-4k-qd1 cpu_missing)" = "perf stat does not count task-clock here: <not supported>;;task-clock;0;100.00;;" ]
}

@test "status 2 of a VM cell says whether the VMM refused its input or the guest refused its job" {
	printf '%s\n' '[study]' 'jobs = randread-4k-qd1' 'configs = flag job' 'reps = 1' 'runtime = 1' 'image_size = 16M' \
		'[config flag]' 'guest_cmdline = badflag' '[config job]' 'guest_cmdline = badjob' >"$BATS_TEST_TMPDIR/two.ini"
	run "$ROOT/experiments/run" "$BATS_TEST_TMPDIR/two.ini" --out "$OUTDIR"
	[ "$status" -eq 1 ]
	grep -qx "failed rc=2 .*reason=build/vmm refused its input: --mem-backing: 'huge' is not one of auto|hugetlb|thp|4k" "$OUTDIR/cells/flag/randread-4k-qd1/rep1/status"
	grep -qx 'failed rc=2 .*reason=the guest refused its job file or command line (see console.log)' "$OUTDIR/cells/job/randread-4k-qd1/rep1/status"
}
