#!/usr/bin/env bats
# faults.bats - failures around the VMM: backing-file errors, a killed device process, stop signals,
# and a VMM killed after a FLUSH completed. Each must end clearly, without hangs, zombies or lost data.

setup() {
	VMM=build/vmm
	GUEST=build/guest.elf
	IMG="$BATS_TEST_TMPDIR/disk.img"
	dd if=/dev/urandom of="$IMG" bs=1M count=32 status=none
	cat >"$BATS_TEST_TMPDIR/long-read.fio" <<-EOF
		[long]
		rw=randread
		bs=4k
		iodepth=4
		time_based
		runtime=30s
	EOF
}

# start_vmm ARGS...: starts build/vmm in the background (VMM_PID: the shell that waits for it;
# its console in $BATS_TEST_TMPDIR/con, its stderr in $BATS_TEST_TMPDIR/err).
start_vmm() {
	(exec $VMM --timeout 60 "$@" $GUEST >"$BATS_TEST_TMPDIR/con" 2>"$BATS_TEST_TMPDIR/err") &
	VMM_PID=$!
}

# wait_for PATTERN FILE [SECONDS]: waits until FILE contains PATTERN.
wait_for() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$1' in $2"
	cat "$2"
	return 1
}

# comm_pid NAME: the process named NAME (comm) whose command line names this test's image.
comm_pid() {
	local p
	for p in $(pgrep -f -- "$IMG"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && echo "$p"
	done
	return 0
}

@test "a killed device process is reported and the VMM exits non-zero, leaving no zombie" {
	local dev status=0
	start_vmm --disk "$IMG" --emulation process --module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	[ -n "$dev" ]
	kill -KILL "$dev"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 125 ]
	grep -q "vmm: the device process of disk 0 (pid $dev) was killed by signal 9" "$BATS_TEST_TMPDIR/err"
	! ps -o stat= -p "$dev" | grep -q Z
}

@test "SIGTERM stops the VMM cleanly: status 143, device process gone, stats written" {
	local dev status=0
	start_vmm --disk "$IMG" --emulation process --stats "$BATS_TEST_TMPDIR/stats.json" \
		--module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	kill -TERM "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 143 ]
	grep -q "vmm: stopped by signal 15" "$BATS_TEST_TMPDIR/err"
	! kill -0 "$dev" 2>/dev/null
	[ "$(jq .format "$BATS_TEST_TMPDIR/stats.json")" -eq 2 ]
}

@test "SIGINT during a write job stops the VMM with 130 and every started write has finished" {
	local status=0
	cat >"$BATS_TEST_TMPDIR/long-write.fio" <<-EOF
		[w]
		rw=randwrite
		bs=64k
		iodepth=16
		time_based
		runtime=30s
	EOF
	start_vmm --disk "$IMG" --stats "$BATS_TEST_TMPDIR/stats.json" --module "$BATS_TEST_TMPDIR/long-write.fio"
	wait_for "job 'w'" "$BATS_TEST_TMPDIR/con"
	sleep 0.5
	kill -INT "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 130 ]
	# Every request the device started was completed (or failed) before the VMM exited.
	[ "$(jq '.devices.requests - .devices.completed' "$BATS_TEST_TMPDIR/stats.json")" -eq 0 ]
}

@test "a backing file truncated under a running job gives the guest I/O errors, nothing hangs" {
	local status=0
	start_vmm --disk "$IMG,backend=sync" --module "$BATS_TEST_TMPDIR/long-read.fio" --stats "$BATS_TEST_TMPDIR/stats.json"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	truncate -s 4M "$IMG"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 1 ]
	grep -qi "error" "$BATS_TEST_TMPDIR/con"
	[ "$(jq .devices.errors "$BATS_TEST_TMPDIR/stats.json")" -ge 1 ]
}

@test "the VMM killed after the guest's FLUSH completed loses none of the flushed writes" {
	cat >"$BATS_TEST_TMPDIR/flush.fio" <<-EOF
		[flushed]
		rw=randwrite
		bs=4k
		size=8m
		iodepth=8
		verify=crc32c
		[after]
		rw=randread
		bs=4k
		time_based
		runtime=30s
	EOF
	start_vmm --disk "$IMG" --module "$BATS_TEST_TMPDIR/flush.fio"
	# The first job's read-back starts after its FLUSH completed; the second job keeps the VM busy.
	wait_for "job 'after'" "$BATS_TEST_TMPDIR/con" 60
	kill -KILL "$(comm_pid vmm)"
	wait "$VMM_PID" || true
	run build/imgcheck --check "$IMG" --bs 4k --size 8m
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the device process runs under seccomp with no_new_privs and holds no KVM file descriptor" {
	local dev status=0
	start_vmm --disk "$IMG" --emulation process --module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	grep -q "^Seccomp:[[:space:]]*2" "/proc/$dev/status"
	grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$dev/status"
	! ls -l "/proc/$dev/fd" | grep -q kvm
	ls -l "/proc/$(comm_pid vmm)/fd" | grep -q kvm
	kill -TERM "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 143 ]
}
