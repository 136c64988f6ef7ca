#!/usr/bin/env bats
# multicore.bats - several vCPUs and multi-queue disks: the guest starts its application processors with
# INIT and SIPI, runs the clones of a numjobs job at once, one per vCPU and queue, and the stats count
# every queue. Verify jobs in every switch combination, the exit counts of full mode per queue, and the
# one-line errors when a job asks for more than the machine has.

load ../../tests/image
load ../../tests/rig

setup_file() {
	base_image multicore
}

teardown_file() {
	base_image_gone
}

setup() {
	VMM=${VMM:-build/vmm}
	GUEST=build/guest.elf
	base_image_copy
	RES="$BATS_TEST_TMPDIR/res.json"
	STATS="$BATS_TEST_TMPDIR/stats.json"
}

# mc_run CPUS QUEUES JOB [VMM FLAGS...]: runs JOB on $IMG with CPUS vCPUs and a disk of QUEUES queues.
mc_run() {
	local cpus=$1 queues=$2 job=$3
	shift 3
	run "$VMM" --timeout 300 --cpus "$cpus" --disk "$IMG,queues=$queues" --module "$job" --results "$RES" \
		--stats "$STATS" --console "$BATS_TEST_TMPDIR/con" "$@" "$GUEST"
}

# clones_job N: a verify job of N clones, each writing, flushing and checking its own 2 MiB.
clones_job() {
	cat >"$BATS_TEST_TMPDIR/clones$1.fio" <<-EOF
		[clones]
		rw=randwrite
		bs=4k
		size=2m
		iodepth=4
		verify=crc32c
		numjobs=$1
		offset_increment=2m
	EOF
	echo "$BATS_TEST_TMPDIR/clones$1.fio"
}

# read_clones N IOS: N clones of IOS random reads each.
read_clones() {
	printf '[reads]\nrw=randread\nbs=4k\niodepth=4\nnumber_ios=%s\nnumjobs=%s\n' "$2" "$1" >"$BATS_TEST_TMPDIR/reads.fio"
	echo "$BATS_TEST_TMPDIR/reads.fio"
}

# verified N: the run passed and all N clones checked their blocks (512 each) with no mismatch.
verified() {
	[ "$status" -eq 0 ] || { echo "status $status: $output"; cat "$BATS_TEST_TMPDIR/con"; return 1; }
	[ "$(grep -c 'verify: 512 blocks checked, 0 mismatches' "$BATS_TEST_TMPDIR/con")" -eq "$1" ] ||
		{ cat "$BATS_TEST_TMPDIR/con"; return 1; }
	[ "$(jq '.jobs | length' "$RES")" -eq "$1" ]
}

@test "--cpus 2, queues=2, numjobs=2: both queues carry requests and the stats' totals equal the JSON's" {
	mc_run 2 2 "$(read_clones 2 3000)"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -q "queues 2 of 2, cpus 2" "$BATS_TEST_TMPDIR/con"
	[ "$(jq '.jobs | length' "$RES")" -eq 2 ]
	[ "$(jq '[.jobs[].read.total_ios] | add' "$RES")" -eq 6000 ]
	[ "$(jq '.queues | length' "$STATS")" -eq 2 ]
	[ "$(jq '.queues[0].requests' "$STATS")" -eq 3000 ]
	[ "$(jq '.queues[1].requests' "$STATS")" -eq 3000 ]
	[ "$(jq '[.queues[].completed] | add' "$STATS")" -eq "$(jq .ios "$STATS")" ]
	[ "$(jq .ios "$STATS")" -eq "$(jq '[.jobs[].read.total_ios] | add' "$RES")" ]
	[ "$(jq '.vcpus | length' "$STATS")" -eq 2 ]
	[ "$(jq .config.cpus "$STATS")" -eq 2 ]
}

@test "full mode with 2 vCPUs: no guest exits per I/O, no notify and no interrupt on any queue" {
	mc_run 2 2 "$(read_clones 2 4000)"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	jq -e '.exits_per_io < 0.01' "$STATS"
	jq -e '[.queues[] | select(.requests > 0 and .notifies == 0 and .irqs == 0)] | length == 2' "$STATS"
	jq -e '[.vcpus[] | .kvm.exits - .kvm.irq_exits] | max < 40' "$STATS"
}

@test "2 vCPUs, 2 queues: numjobs=2 verifies in every combination of the switches" {
	local req emu comp pair=0 rig_comp
	local -A rig_emu=([exit]=thread [ioeventfd]=process [exitless]=inline)
	for req in exit ioeventfd exitless; do
		for emu in thread process inline; do
			# in the SVM rig (TCG time) each request path once (exit/thread, ioeventfd/process, exitless/inline:
			# the placements are the host's side), the completion alternating; every pair with EXITLESS_RIG_LONG=1
			if rig_short && [ "$emu" != "${rig_emu[$req]}" ]; then continue; fi
			rig_comp=$([ $((pair % 2)) -eq 0 ] && echo poll || echo irq)
			pair=$((pair + 1))
			for comp in poll irq; do
				[ -z "${SVM_RIG:-}" ] || [ "$comp" = "$rig_comp" ] || continue
				mc_run 2 2 "$(clones_job 2)" --request "$req" --emulation "$emu" --completion "$comp"
				verified 2 || { echo "request=$req emulation=$emu completion=$comp"; false; }
			done
		done
	done
}

@test "4 vCPUs, 4 queues: numjobs=4 verifies in full and baseline mode and with a context per queue" {
	mc_run 4 4 "$(clones_job 4)"
	verified 4
	[ "$(jq '[.queues[] | select(.requests > 0)] | length' "$STATS")" -eq 4 ]
	# emulator time in a rig (4 vCPUs on its CPUs): full mode only, unless EXITLESS_RIG_LONG=1
	if rig_short; then return 0; fi
	mc_run 4 4 "$(clones_job 4)" --request exit --emulation process --completion irq
	verified 4
	mc_run 4 4 "$(clones_job 4)" --emulation thread --emulation-contexts queue --completion irq
	verified 4
	[ "$(jq '.contexts | length' "$STATS")" -eq 4 ]
}

@test "more queues than vCPUs, and more vCPUs than queues: the guest uses what both have" {
	mc_run 2 4 "$(clones_job 2)"
	verified 2
	grep -q "queues 2 of 4, cpus 2" "$BATS_TEST_TMPDIR/con"
	[ "$(jq '[.queues[] | select(.requests > 0)] | length' "$STATS")" -eq 2 ]
	mc_run 4 2 "$(clones_job 2)"
	verified 2
	grep -q "queues 2 of 2, cpus 4" "$BATS_TEST_TMPDIR/con"
}

@test "a job with more clones than queues or than vCPUs is one clear line and status 2, before any I/O" {
	host_only
	local want="job 'reads': numjobs=2 runs its clones at once, each on a queue of its own; there are 1 (in the guest: its disk's queues or its vCPUs, the fewer)"
	mc_run 2 1 "$(read_clones 2 100)"
	[ "$status" -eq 2 ]
	grep -qF "$want" "$BATS_TEST_TMPDIR/con"
	mc_run 1 2 "$(read_clones 2 100)"
	[ "$status" -eq 2 ]
	grep -qF "$want" "$BATS_TEST_TMPDIR/con"
	[ "$(jq ".jobs | length" "$RES")" -eq 0 ]
}

@test "qemu: -smp 2 with a 2-queue disk runs numjobs=2 on both vCPUs" {
	host_only
	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
	[ -w /dev/kvm ] || skip "no /dev/kvm"
	run timeout 120 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm \
		-cpu host,-arch-capabilities -m 256M -smp 2,sockets=1,cores=2 -nodefaults -display none -no-reboot \
		-serial "file:$BATS_TEST_TMPDIR/con" -chardev "file,id=com2,path=$RES" -device isa-serial,index=1,chardev=com2 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
		-kernel "$GUEST" -initrd "$(clones_job 2)" \
		-drive "id=d0,file=$IMG,format=raw,if=none,cache=none" -device virtio-blk-device,drive=d0,num-queues=2
	[ "$status" -eq 1 ] || { echo "status $status"; cat "$BATS_TEST_TMPDIR/con"; false; } # isa-debug-exit: (0 << 1) | 1
	status=0
	verified 2
	grep -q "queues 2 of 2, cpus 2" "$BATS_TEST_TMPDIR/con"
	grep -q "virtio-blk: queue 1: requests 1025" "$BATS_TEST_TMPDIR/con"
}

@test "neighbour=same|other: the guest reports its CPU loop alone and beside the I/O; bad values are status 2" {
	host_only
	printf '[think]\nrw=randread\nbs=4k\nnumber_ios=300\nthinktime=20\n' >"$BATS_TEST_TMPDIR/think.fio"
	mc_run 2 2 "$BATS_TEST_TMPDIR/think.fio" --cmdline neighbour=same
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	jq -e '.exitless | .think_units > 0 and .think_ns >= 300 * 20000 and .loop_ref_units > 0 and .loop_ref_ns > 0 and
		(has("loop_other_units") | not)' "$RES"
	mc_run 2 2 "$BATS_TEST_TMPDIR/think.fio" --cmdline neighbour=other
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	jq -e '.exitless | .loop_other_units > 0 and .loop_other_ns > 0 and .loop_other_ref_units > 0 and (has("loop_ref_units") | not)' "$RES"
	grep -q "app: neighbour: cpu 1: the loop alone" "$BATS_TEST_TMPDIR/con"
	mc_run 2 2 "$BATS_TEST_TMPDIR/think.fio" --cmdline neighbour=sideways
	[ "$status" -eq 2 ]
	grep -q "app: bad neighbour=sideways on the command line: use neighbour=same, other or both" "$BATS_TEST_TMPDIR/con"
	mc_run 1 1 "$BATS_TEST_TMPDIR/think.fio" --cmdline neighbour=other
	[ "$status" -eq 2 ]
	grep -q "app: neighbour=other needs a second CPU (build/vmm --cpus 2)" "$BATS_TEST_TMPDIR/con"
}
