#!/usr/bin/env bats
# virtio.bats - the guest's virtio-blk driver and job application against QEMU microvm's own virtio-blk-device.
#
# Every case boots build/guest.elf with a fio job as PVH module 0 (-initrd) and a scratch image written in full.
# QEMU's isa-debug-exit ends with (code << 1) | 1: a guest exit code 0 is QEMU status 1.
# Override the binaries with GUEST=..., QEMU=..., IMGCHECK=... in the environment.

setup() {
	cd "$BATS_TEST_DIRNAME/../../.." || return 1
	GUEST=${GUEST:-build/guest.elf}
	QEMU=${QEMU:-qemu-system-x86_64}
	IMGCHECK=${IMGCHECK:-build/imgcheck}
	[ -f "$GUEST" ] || skip "$GUEST is not built (run make)"
	grep -q "virtio-blk: summary" "$GUEST" || skip "$GUEST has no virtio-blk driver linked in"
	[ -w /dev/kvm ] || skip "no usable /dev/kvm"
	command -v "$QEMU" >/dev/null || skip "$QEMU not installed"
	tmp=$(mktemp -d)
	dd if=/dev/urandom of="$tmp/disk.img" bs=1M count=32 status=none
}

teardown() {
	[ -z "${tmp:-}" ] || rm -rf "$tmp"
}

# job NAME LINES...: writes $tmp/NAME.fio with one [NAME] section made of LINES.
job() {
	local name=$1
	shift
	printf '[%s]\n' "$name" >"$tmp/$name.fio"
	printf '%s\n' "$@" >>"$tmp/$name.fio"
}

write_verify_job() {
	job wv rw=randwrite bs=4k offset=0 size=1m iodepth=16 verify=crc32c
}

# boot JOB CMDLINE [QEMU ARGS...]: runs the guest on $tmp/disk.img with $tmp/JOB.fio as module 0; results on
# COM2 go to $tmp/out.json. Sets $output, $status (QEMU's) and $code (the guest's exit code).
boot() {
	local jobfile=$1 cmdline=$2
	shift 2
	run timeout 60 "$QEMU" -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm \
		-cpu host,-arch-capabilities -m 256M -nodefaults -nographic -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-chardev "file,id=com2,path=$tmp/out.json" -device isa-serial,iobase=0x2f8,irq=3,chardev=com2 \
		-kernel "$GUEST" -initrd "$tmp/$jobfile.fio" -append "$cmdline" "$@"
	if ((status & 1)); then code=$((status >> 1)); else code=qemu-status-$status; fi
}

# disk [DEVICE OPTIONS] [DRIVE OPTIONS]: the virtio-blk-device arguments for $tmp/disk.img.
disk() {
	echo -device "virtio-blk-device,drive=d0${1:+,$1}" -drive "id=d0,file=$tmp/disk.img,format=raw,if=none${2:+,$2}"
}

expect_ok() {
	[ "$code" = 0 ] || { echo "guest exit code $code"; echo "$output"; return 1; }
	[[ "$output" == *"0 mismatches"* || "$1" == noverify ]] || { echo "$output"; return 1; }
}

# summary_field NAME: the number after NAME in the driver's summary line.
summary_field() {
	grep 'virtio-blk: summary' <<<"$output" | sed -n "s/.* $1 \([0-9]*\).*/\1/p"
}

@test "write+verify job passes on the legacy transport (QEMU default), polled" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=poll" $(disk)
	expect_ok
	[[ "$output" == *"transport v1"* ]]
	# QEMU sends the first used-buffer interrupt after a reset whatever used_event says (its
	# signalled_used_valid starts false); every later one is suppressed.
	[ "$(summary_field interrupts)" -le 1 ]
}

@test "write+verify job passes on the modern transport, polled" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=poll" -global virtio-mmio.force-legacy=false $(disk)
	expect_ok
	[[ "$output" == *"transport v2"* && "$output" == *"summary: event_idx v2"* ]]
}

@test "write+verify job passes with completion=irq, legacy and modern" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=irq" $(disk)
	expect_ok
	[ "$(summary_field irq_waits)" -gt 0 ]
	[ "$(summary_field interrupts)" -gt 0 ]
	# shellcheck disable=SC2046
	boot wv "completion=irq" -global virtio-mmio.force-legacy=false $(disk)
	expect_ok
	[ "$(summary_field irq_waits)" -gt 0 ]
}

@test "without EVENT_IDX the flags suppress notifies and interrupts, poll and irq" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=poll" $(disk event_idx=off)
	expect_ok
	[[ "$output" == *"summary: flags"* ]]
	[ "$(summary_field interrupts)" = 0 ]	# VRING_AVAIL_F_NO_INTERRUPT: not a single one
	# shellcheck disable=SC2046
	boot wv "completion=irq" -global virtio-mmio.force-legacy=false $(disk event_idx=off)
	expect_ok
	[[ "$output" == *"summary: flags v2"* ]]
	[ "$(summary_field irq_waits)" -gt 0 ]
}

@test "the default completion mode is poll: the guest never waits for an interrupt" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "" $(disk)
	expect_ok
	[[ "$output" == *"completion=poll"* ]]
	[ "$(summary_field interrupts)" -le 1 ] && [ "$(summary_field irq_waits)" = 0 ]
}

@test "guest-written verify blocks check on the host with imgcheck" {
	[ -x "$IMGCHECK" ] || skip "$IMGCHECK is not built yet"
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=poll" $(disk)
	expect_ok
	run "$IMGCHECK" --check "$tmp/disk.img" --bs 4k --size 1m
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "host-written verify blocks are read and checked by the guest" {
	[ -x "$IMGCHECK" ] || skip "$IMGCHECK is not built yet"
	run "$IMGCHECK" --write "$tmp/disk.img" --bs 4k --size 4m
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	job vr rw=read bs=4k offset=0 size=4m iodepth=8 verify=crc32c
	# shellcheck disable=SC2046
	boot vr "completion=irq" -global virtio-mmio.force-legacy=false $(disk)
	expect_ok
	[[ "$output" == *"1024 blocks checked"* ]] || { echo "$output"; return 1; }
}

@test "a read job's results JSON on COM2 parses and counts the bytes read" {
	job rr rw=randread bs=4k number_ios=2000 iodepth=4
	# shellcheck disable=SC2046
	boot rr "completion=poll" $(disk)
	expect_ok noverify
	run jq -e '.jobs[0].read.io_bytes > 0 and .jobs[0].read.total_ios == 2000' "$tmp/out.json"
	[ "$status" -eq 0 ] || { cat "$tmp/out.json"; return 1; }
}

@test "GET_ID returns the drive's serial" {
	job rr rw=read bs=4k number_ios=16
	# shellcheck disable=SC2046
	boot rr "" $(disk serial=exitless-disk-7)
	expect_ok noverify
	[[ "$output" == *'id "exitless-disk-7"'* ]] || { echo "$output"; return 1; }
}

@test "a read-only disk is announced read-only and a write job is refused" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "" $(disk "" readonly=on)
	[[ "$output" == *"(read-only)"* ]] || { echo "$output"; return 1; }
	[ "$code" != 0 ]
}

@test "a job without any virtio-blk device exits 2 naming the fix" {
	write_verify_job
	boot wv ""
	[ "$code" = 2 ]
	[[ "$output" == *"app: a job file was given but there is no virtio-blk device: attach a disk"* ]]
}

@test "a bad completion= value exits 2 naming the choices" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "completion=sometimes" $(disk)
	[ "$code" = 2 ]
	[[ "$output" == *"app: bad completion=sometimes on the command line: use completion=poll, irq or hybrid"* ]]
}

@test "malformed virtio_mmio.device= words are reported and skipped" {
	write_verify_job
	# shellcheck disable=SC2046
	boot wv "virtio_mmio.device=junk virtio_mmio.device=512@0xfeb00000:5" $(disk)
	expect_ok
	[[ "$output" == *"virtio-mmio: ignoring malformed virtio_mmio.device=junk"* ]]
}

@test "build/vmm --request exitless --completion poll: the driver never notifies and takes no interrupt" {
	VMM=${VMM:-build/vmm}
	[ -x "$VMM" ] || skip "$VMM is not built yet"
	"$VMM" --help 2>&1 | grep -q -- '--request' || skip "$VMM has no --request switch yet"
	write_verify_job
	run timeout 60 "$VMM" --timeout 50 --disk "$tmp/disk.img" --module "$tmp/wv.fio" --results "$tmp/out.json" \
		--request exitless --completion poll "$GUEST"
	code=$status
	expect_ok
	[ "$(summary_field notifies)" = 0 ] && [ "$(summary_field interrupts)" = 0 ] || { echo "$output"; return 1; }
}
