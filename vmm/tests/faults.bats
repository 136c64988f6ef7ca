#!/usr/bin/env bats
# faults.bats - failures around the VMM: backing-file errors, a killed device process, stop signals,
# and a VMM killed after a FLUSH completed. Each must end clearly, without hangs, zombies or lost data.
# The guest's jobs outlast any pause of a loaded machine (the SVM rig under TCG can stall for tens of
# seconds), so a stop signal always reaches a VMM that is still running its job.
# In the rigs the stop signals (a vCPU in KVM_RUN must leave it) and the seccomp allowlists (the calls KVM's
# paths make) run; a dead device process, a truncated backing file and a kill after FLUSH are the VMM's own
# side (host_only).

load ../../tests/rig

setup() {
	VMM=${VMM:-build/vmm}
	GUEST=build/guest.elf
	IMG="$BATS_TEST_TMPDIR/disk.img"
	dd if=/dev/urandom of="$IMG" bs=1M count=32 status=none
	cat >"$BATS_TEST_TMPDIR/long-read.fio" <<-EOF
		[long]
		rw=randread
		bs=4k
		iodepth=4
		time_based
		runtime=120s
	EOF
	cat >"$BATS_TEST_TMPDIR/long-write.fio" <<-EOF
		[w]
		rw=randwrite
		bs=64k
		iodepth=16
		time_based
		runtime=120s
	EOF
}

# start_vmm ARGS...: starts build/vmm in the background (VMM_PID: the shell that waits for it;
# its console in $BATS_TEST_TMPDIR/con, its stderr in $BATS_TEST_TMPDIR/err).
start_vmm() {
	(exec "$VMM" --timeout 180 "$@" "$GUEST" >"$BATS_TEST_TMPDIR/con" 2>"$BATS_TEST_TMPDIR/err") &
	VMM_PID=$!
}

# wait_for PATTERN FILE [SECONDS]: waits until FILE contains PATTERN.
wait_for() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		if grep -q "$1" "$2" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for '$1' in $2"
	cat "$2"
	return 1
}

# holds_kvm_fd PID: whether process PID has /dev/kvm (or a KVM VM or vCPU) open.
holds_kvm_fd() {
	local fd
	for fd in "/proc/$1/fd/"*; do
		case "$(readlink "$fd")" in *kvm*) return 0 ;; esac
	done
	return 1
}

# comm_pid NAME: the process named NAME (comm) whose command line names this test's image.
comm_pid() {
	local p
	for p in $(pgrep -f -- "$IMG"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ]; then echo "$p"; fi
	done
	return 0
}

# interrupt_write ARGS...: the long write job under build/vmm ARGS..., SIGINT once it runs; the VMM must end
# with 130 (its stderr shown otherwise).
interrupt_write() {
	local status=0
	rm -f "$BATS_TEST_TMPDIR/con" # a run before's "job 'w'" must not count
	start_vmm "$@" --module "$BATS_TEST_TMPDIR/long-write.fio"
	wait_for "job 'w'" "$BATS_TEST_TMPDIR/con"
	sleep 0.5
	kill -INT "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 130 ] || { echo "$*: status $status"; cat "$BATS_TEST_TMPDIR/err"; return 1; }
}

@test "a killed device process is reported and the VMM exits non-zero, leaving no zombie" {
	host_only
	local dev status=0
	start_vmm --disk "$IMG" --emulation process --module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	[ -n "$dev" ]
	kill -KILL "$dev"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 125 ]
	grep -q "vmm: the device process of disk 0 (pid $dev) was killed by signal 9" "$BATS_TEST_TMPDIR/err"
	[[ "$(ps -o stat= -p "$dev" || true)" != Z* ]] # reaped: no zombie left
}

@test "SIGTERM stops the VMM cleanly: status 143, device process gone, stats written" {
	local dev status=0
	start_vmm --disk "$IMG" --emulation process --stats "$BATS_TEST_TMPDIR/stats.json" \
		--module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	kill -TERM "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 143 ] || { echo "status $status"; cat "$BATS_TEST_TMPDIR/err"; false; }
	grep -q "vmm: stopped by signal 15" "$BATS_TEST_TMPDIR/err"
	run kill -0 "$dev"
	[ "$status" -ne 0 ] # the device process is gone
	[ "$(jq .format "$BATS_TEST_TMPDIR/stats.json")" -eq 2 ]
}

@test "SIGINT during a write job stops the VMM with 130 and every started write has finished" {
	interrupt_write --disk "$IMG" --stats "$BATS_TEST_TMPDIR/stats.json"
	# Every request the device started was completed (or failed) before the VMM exited.
	[ "$(jq '.devices.requests - .devices.completed' "$BATS_TEST_TMPDIR/stats.json")" -eq 0 ]
}

@test "SIGINT while the device holds every request (null, 300 ms each): inline, thread and process finish them first" {
	local mode
	for mode in inline thread process; do
		interrupt_write --disk "$IMG,backend=null,latency=300000" --emulation "$mode" \
			--stats "$BATS_TEST_TMPDIR/stats-$mode.json"
		# The 16 requests the device held at the signal completed during the stop, by the thread that
		# served them (the IOCore for inline), within its allowlist.
		jq -e '.devices.requests >= 16 and .devices.requests == .devices.completed' \
			"$BATS_TEST_TMPDIR/stats-$mode.json" || { echo "$mode"; false; }
	done
}

@test "a backing file truncated under a running job gives the guest I/O errors, nothing hangs" {
	host_only
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
	host_only
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
		runtime=120s
	EOF
	start_vmm --disk "$IMG" --module "$BATS_TEST_TMPDIR/flush.fio"
	# The first job's read-back starts after its FLUSH completed; the second job keeps the VM busy.
	wait_for "job 'after'" "$BATS_TEST_TMPDIR/con" 60
	kill -KILL "$(comm_pid vmm)"
	wait "$VMM_PID" || true
	run build/imgcheck --check "$IMG" --bs 4k --size 8m
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the device process and every thread of the VMM run under seccomp; the device process holds no KVM fd" {
	host_only # the allowlists themselves are checked in the rigs by every run (and by the next test)
	local dev status=0 t n=0
	start_vmm --disk "$IMG" --emulation process --module "$BATS_TEST_TMPDIR/long-read.fio"
	wait_for "job 'long'" "$BATS_TEST_TMPDIR/con"
	dev=$(comm_pid exitless-dev0)
	grep -q "^Seccomp:[[:space:]]*2" "/proc/$dev/status"
	grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$dev/status"
	run holds_kvm_fd "$dev"
	[ "$status" -eq 1 ]
	holds_kvm_fd "$(comm_pid vmm)"
	for t in /proc/"$(comm_pid vmm)"/task/*; do # vCPU, IOCore, the emulation thread of the device process
		grep -q "^Seccomp:[[:space:]]*2" "$t/status"
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
	kill -TERM "$(comm_pid vmm)"
	wait "$VMM_PID" || status=$?
	[ "$status" -eq 143 ] || { echo "status $status"; cat "$BATS_TEST_TMPDIR/err"; false; }
}

@test "every VMM thread runs under its seccomp allowlist: a call outside it stops the VMM with one line naming the thread" {
	local role emu
	for role in vcpu iocore emulation "device process"; do
		emu=thread
		[ "$role" != "device process" ] || emu=process
		EXITLESS_SECCOMP_TEST=$role run "$VMM" --timeout 60 --disk "$IMG" --emulation "$emu" \
			--module "$BATS_TEST_TMPDIR/long-read.fio" --console /dev/null "$GUEST"
		[ "$status" -eq 125 ] || { echo "$role: status $status: $output"; false; }
		[[ "$output" == *"vmm: seccomp: system call 110 is outside the allowlist of the $role thread; stopping"* ]] ||
			{ echo "$role: $output"; false; }
	done
}
