#!/usr/bin/env bats
# guest.bats - boots build/guest.elf in QEMU microvm and in build/vmm: banner, self-tests, crash report, exit codes.
#
# Both VMMs run the same file. QEMU's isa-debug-exit ends with status (code << 1) | 1, build/vmm with the code
# itself; boot_* translate both into $code (the guest's exit code) and keep the raw status in $status.
# Override the binaries with GUEST=..., VMM=..., QEMU=... in the environment.

setup() {
	cd "$BATS_TEST_DIRNAME/../.." || return 1
	GUEST=${GUEST:-build/guest.elf}
	VMM=${VMM:-build/vmm}
	QEMU=${QEMU:-qemu-system-x86_64}
	[ -f "$GUEST" ] || skip "$GUEST is not built (run make)"
	tmp=$(mktemp -d)
}

teardown() {
	[ -z "${tmp:-}" ] || rm -rf "$tmp"
}

# The flags of PLATFORM.md. microvm with -nodefaults creates only COM1 from -serial: COM2 needs its own
# isa-serial device at 0x2f8 (a second -serial option is silently left unconnected).
qemu_args() {
	echo -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm -cpu host,-arch-capabilities \
		-m 256M -nodefaults -nographic -no-reboot -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
}

need_kvm() {
	[ -w /dev/kvm ] || skip "no usable /dev/kvm"
}

# boot_qemu CMDLINE [QEMU ARGS...]: sets $output, $status (QEMU's), $code (the guest's).
boot_qemu() {
	local cmdline=$1
	shift
	need_kvm
	command -v "$QEMU" >/dev/null || skip "$QEMU not installed"
	# shellcheck disable=SC2046
	run timeout 30 "$QEMU" $(qemu_args) -kernel "$GUEST" -append "$cmdline" "$@"
	if ((status & 1)); then code=$((status >> 1)); else code=qemu-status-$status; fi
}

# boot_vmm CMDLINE [VMM OPTIONS...]: sets $output, $status and $code (the same for build/vmm).
boot_vmm() {
	local cmdline=$1
	shift
	need_kvm
	[ -x "$VMM" ] || skip "$VMM is not built yet"
	run timeout 30 "$VMM" --cmdline "$cmdline" "$@" "$GUEST"
	code=$status
}

check_banner() {
	[[ "$output" == *"exitless guest: booted, running at CPL3"* ]] || {
		echo "$output"
		return 1
	}
}

@test "the guest ELF has a PVH note in a PT_NOTE segment aligned to 4 and loads at 1 MiB" {
	run readelf -lW "$GUEST"
	[[ "$output" =~ NOTE[^$'\n']*0x4$'\n' ]] || { echo "$output"; false; }
	[[ "$output" == *"LOAD           0x001000 0x0000000000100000"* ]]
	run readelf -nW "$GUEST"
	[[ "$output" == *"Xen"*"0x00000012"* ]] || { echo "$output"; false; }
}

@test "qemu: boots, prints the banner and the command line, exits 0" {
	boot_qemu "hello=world"
	check_banner
	[[ "$output" == *"exitless guest: cmdline: hello=world"* ]]
	[ "$status" -eq 1 ]
	[ "$code" -eq 0 ]
}

@test "qemu: test=cpl3 passes" {
	boot_qemu "test=cpl3"
	[[ "$output" == *"PASS cpl3"* ]]
	[ "$code" -eq 0 ]
}

@test "qemu: test=syscall passes through the int3 gate" {
	boot_qemu "test=syscall"
	[[ "$output" == *"PASS syscall"* ]]
	[ "$code" -eq 0 ]
}

@test "qemu: test=all passes every non-destructive test, in every EOI mode" {
	local eoi
	for eoi in x2apic xapic pv; do
		boot_qemu "test=all eoi=$eoi"
		[[ "$output" == *"eoi $eoi"* || "$eoi" == pv ]] || { echo "$output"; false; }
		[[ "$output" != *FAIL* ]] || { echo "$output"; false; }
		[[ "$output" == *"PASS cpl3"*"PASS syscall"*"PASS irq"* ]]
		[ "$code" -eq 0 ]
	done
}

@test "qemu: test=fault prints the page fault report and exits with the crash code 3" {
	boot_qemu "test=fault"
	[[ "$output" == *"exitless guest: CPU exception: page fault (vector 14) at CPL 3"* ]] || { echo "$output"; false; }
	[[ "$output" == *"error=0x4 rip=0x"*" cr2=0x100000000 "* ]]
	[ "$status" -eq 7 ]
	[ "$code" -eq 3 ]
}

@test "qemu: an unknown test name gives one error line and exit code 2" {
	boot_qemu "test=nosuch"
	[[ "$output" == *"exitless guest: unknown test 'nosuch' in test=nosuch"* ]]
	[ "$status" -eq 5 ]
	[ "$code" -eq 2 ]
}

@test "qemu: a bad eoi= value gives the fix and exit code 2" {
	boot_qemu "eoi=apic"
	[[ "$output" == *"exitless guest: bad eoi=apic on the command line: use eoi=x2apic, eoi=xapic or eoi=pv"* ]]
	[ "$code" -eq 2 ]
}

@test "qemu: without tsc_khz= the TSC frequency still comes from the hypervisor" {
	boot_qemu "test=clock"
	[[ "$output" =~ "tsc "[1-9][0-9]*" kHz (" ]] || { echo "$output"; false; }
	[ "$code" -eq 0 ]
}

@test "qemu: -initrd arrives as PVH module 0; without a disk for the job, exit code 2" {
	echo "[job]" >"$tmp/job.fio"
	boot_qemu "" -initrd "$tmp/job.fio"
	[[ "$output" == *"1 module(s)"* ]]
	[[ "$output" == *"app: a job file was given but there is no virtio-blk device"* ]]
	[ "$code" -eq 2 ]
}

@test "qemu: COM2 needs an isa-serial at 0x2f8; a second -serial is not connected on microvm" {
	boot_qemu "test=results" -chardev "file,id=com2,path=$tmp/com2" -device isa-serial,chardev=com2,iobase=0x2f8,irq=3
	[ "$code" -eq 0 ]
	[ "$(cat "$tmp/com2")" = "exitless guest: results channel (COM2) works" ]
	boot_qemu "test=results" -serial "file:$tmp/second"
	[ "$code" -eq 0 ]
	[ ! -s "$tmp/second" ]
}

@test "qemu: test=spin runs until stopped" {
	need_kvm
	# shellcheck disable=SC2046
	run timeout 3 "$QEMU" $(qemu_args) -kernel "$GUEST" -append "test=spin"
	[ "$status" -eq 124 ]
	[[ "$output" == *"spin: looping forever"* ]]
}

@test "vmm: boots, prints the banner and exits 0" {
	boot_vmm ""
	check_banner
	[ "$code" -eq 0 ]
}

@test "vmm: test=all passes and the results line reaches --results" {
	boot_vmm "test=all" --results "$tmp/results"
	[[ "$output" != *FAIL* ]] || { echo "$output"; false; }
	[[ "$output" == *"PASS cpl3"*"PASS syscall"*"PASS irq"* ]]
	[ "$code" -eq 0 ]
	[ "$(cat "$tmp/results")" = "exitless guest: results channel (COM2) works" ]
}

@test "vmm: test=fault prints the page fault report and exits 3" {
	boot_vmm "test=fault"
	[[ "$output" == *"exitless guest: CPU exception: page fault (vector 14) at CPL 3"* ]] || { echo "$output"; false; }
	[[ "$output" == *" cr2=0x100000000 "* ]]
	[ "$code" -eq 3 ]
}

@test "vmm: an unknown test name exits 2" {
	boot_vmm "test=nosuch"
	[[ "$output" == *"exitless guest: unknown test 'nosuch'"* ]]
	[ "$code" -eq 2 ]
}

@test "vmm: --module arrives as PVH module 0" {
	echo "[job]" >"$tmp/job.fio"
	boot_vmm "" --module "$tmp/job.fio"
	[[ "$output" == *"1 module(s)"* ]]
	[ "$code" -eq 2 ]
}
