#!/usr/bin/env bats
# linux.bats - a stock Linux guest (Debian's kernel, `make linux-guest`) running the real fio in build/vmm: it
# finds its disks and UARTs in the VMM's ACPI tables, fio's own JSON comes back on COM2, fio's status is the
# VMM's, and exits per I/O are counted as for the tiny guest. Booting Linux needs a KVM that runs guest CPL0
# natively (VT-x or SVM: the SVM rig); on PVM, where every CPL0 instruction is emulated, the boots are
# skipped with that reason. The refusals and the ACPI tables (disassembled by iasl) are checked everywhere.

load ../../tests/image
load ../../tests/rig

KERNEL=build/linux/vmlinux
INITRD=build/linux/initramfs.cpio

setup_file() {
	base_image linux 64
}

teardown_file() {
	base_image_gone
}

setup() {
	VMM=${VMM:-build/vmm}
	base_image_copy
	RES="$BATS_TEST_TMPDIR/res.json"
	STATS="$BATS_TEST_TMPDIR/stats.json"
	CON="$BATS_TEST_TMPDIR/con"
	BOOT_INITRD=$INITRD # what linux_run boots
}

# needs_linux: skips unless this host runs guest kernel code natively and the image is built.
needs_linux() {
	local flavor
	flavor=$("$VMM" --platform | jq -r .kvm_flavor)
	[ "$flavor" = svm ] || [ "$flavor" = vmx ] ||
		skip "KVM here is $flavor: guest CPL0 is emulated, a Linux boot takes minutes (the SVM rig runs these)"
	if [ ! -f "$KERNEL" ] || [ ! -f "$INITRD" ]; then skip "no Linux guest image: make linux-guest"; fi
}

# linux_run JOB [VMM FLAGS...]: JOB with real fio in the Linux guest on $IMG. The SVM rig's emulated SVM
# sometimes stops a Linux boot before /init runs (QEMU's as well as build/vmm's); such a boot (the console
# has no "init:" line) is retried, up to three boots, and each retry is reported.
linux_run() {
	local job=$1 boot
	shift
	for boot in 1 2 3; do
		run "$VMM" --timeout 240 --mem 512 --disk "$IMG" --module "$job" --results "$RES" --stats "$STATS" \
			--console "$CON" --initrd "$BOOT_INITRD" "$@" "$KERNEL"
		if grep -q '^init: ' "$CON"; then return 0; fi
		echo "# boot $boot stopped before /init (status $status): $(tail -n 1 "$CON")" >&3
	done
}

# fio_ok: the run passed and RES is fio's own JSON: its version, every job without error.
fio_ok() {
	[ "$status" -eq 0 ] || { echo "status $status: $output"; tail -n 30 "$CON"; return 1; }
	jq -e '."fio version" | startswith("fio-3")' "$RES" >/dev/null || { head -c 600 "$RES"; return 1; }
	[ "$(jq '[.jobs[] | select(.error != 0)] | length' "$RES")" -eq 0 ]
}

# reads_job IOS [QD]: IOS random 4k reads at queue depth QD (1), as the kit's jobs write them.
reads_job() {
	printf '[global]\nioengine=io_uring\ndirect=1\n[reads]\nrw=randread\nbs=4k\niodepth=%s\nnumber_ios=%s\n' \
		"${2:-1}" "$1" >"$BATS_TEST_TMPDIR/reads.fio"
	echo "$BATS_TEST_TMPDIR/reads.fio"
}

# exitless_data_path: the window of a full-mode run has no notification, at most one interrupt (the first
# completion: the poll queue's used_event starts at 0) and at most the two MMIO exits of queue set-up.
exitless_data_path() {
	[ "$(jq .devices.notifies "$STATS")" -eq 0 ] || { echo "notifies: $(jq .devices.notifies "$STATS")"; return 1; }
	[ "$(jq .devices.irqs "$STATS")" -le 1 ] || { echo "irqs: $(jq .devices.irqs "$STATS")"; return 1; }
	[ "$(jq .kvm.mmio_exits "$STATS")" -le 2 ] || { echo "mmio_exits: $(jq .kvm.mmio_exits "$STATS")"; return 1; }
}

# exits_per_io [VCPU]: the exits the guest caused (KVM's exits less host-interrupt exits) in the window per
# device request: of every vCPU, or of vCPU VCPU.
exits_per_io() {
	if [ $# -eq 0 ]; then
		jq -r '.exits / .ios' "$STATS"
	else
		jq -r --argjson c "$1" '(.vcpus[$c].kvm.exits - .vcpus[$c].kvm.irq_exits) / .ios' "$STATS"
	fi
}

@test "the ACPI tables disassemble cleanly: hardware-reduced FADT, MADT, a DSDT with the UARTs and virtio-mmio" {
	command -v iasl >/dev/null || skip "no iasl (acpica-tools)"
	mkdir "$BATS_TEST_TMPDIR/acpi"
	ACPI_DUMP_DIR="$BATS_TEST_TMPDIR/acpi" build/tests/unit-platform >/dev/null
	cd "$BATS_TEST_TMPDIR/acpi"
	run iasl -d DSDT.dat FACP.dat APIC.dat
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	grep -q 'Name (_HID, "LNRO0005")' DSDT.dsl
	grep -q 'Memory32Fixed (ReadWrite,' DSDT.dsl
	grep -q 'EisaId ("PNP0501")' DSDT.dsl
	grep -q 'Name (_S5, Package' DSDT.dsl
	grep -q 'Hardware Reduced (V5) : 1' FACP.dsl
	[ "$(grep -c 'Processor Local APIC' APIC.dsl)" -eq 2 ]
}

@test "an initrd that is not an uncompressed newc archive is refused with one line and status 2" {
	printf '\x1f\x8b\x08\x00' >"$BATS_TEST_TMPDIR/initrd.gz"
	run "$VMM" --disk "$IMG" --initrd "$BATS_TEST_TMPDIR/initrd.gz" build/guest.elf
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"not an uncompressed newc cpio archive"* ]]
	run "$VMM" --disk "$IMG" --initrd "$BATS_TEST_TMPDIR/none.cpio" build/guest.elf
	[ "$status" -eq 2 ]
	[[ "$output" == *"cannot open"*"none.cpio"* ]]
}

@test "Linux: fio's verify job in full mode, poll queues, the job on a nohz_full vCPU: no notification, no interrupt, no exit per I/O there" {
	needs_linux
	printf '[global]\nioengine=io_uring\ndirect=1\n[verify]\nrw=randwrite\nbs=4k\nsize=2m\niodepth=8\nverify=crc32c\n' \
		>"$BATS_TEST_TMPDIR/verify.fio"
	linux_run "$BATS_TEST_TMPDIR/verify.fio" --cpus 2 --cmdline "nohz_full=1 fio_cpus=1"
	echo "# boot to fio: $(grep -o 'fio starts (uptime [0-9.]* s)' "$CON")" >&3
	fio_ok
	[ "$(jq '.jobs[0].write.io_bytes' "$RES")" -eq $((2 << 20)) ]
	[ "$(jq '.jobs[0].read.io_bytes' "$RES")" -eq $((2 << 20)) ] # fio read every block back and checked it
	[ "$(jq -r '."global options".hipri' "$RES")" = 1 ]
	grep -q '1/0/1 default/read/poll queues' "$CON"
	jq -e '.window.marked and .ios >= 1024' "$STATS" >/dev/null
	exitless_data_path
	echo "# full, 2 vCPUs: $(exits_per_io 1) exits per I/O on vCPU 1 (fio), $(exits_per_io) on both (vCPU 0 keeps the tick); $(jq -r '.ios / .window.ns * 1e9 | floor' "$STATS") I/Os per s" >&3
	# What is left on the I/O vCPU is time-based (the tick RCU restarts there, fio's start and end: tens per
	# second in the rig), not per I/O; the next test checks the 0.05 target on a longer job.
	awk -v e="$(exits_per_io 1)" 'BEGIN { exit !(e < 1) }'
}

@test "Linux: random reads in full mode, the job alone on a nohz_full vCPU: below 0.05 guest exits per I/O there" {
	needs_linux
	long_in_rigs # a Linux boot takes about a minute in a rig
	# RCU asks the polling vCPU for a quiescent state, restarting its tick, once a grace period is 25 jiffies
	# old; 2000 lets the guest's grace periods wait for one (docs/exit-accounting.md, "What is left").
	linux_run "$(reads_job 16000 32)" --cpus 2 --cmdline "nohz_full=1 fio_cpus=1 rcutree.jiffies_till_sched_qs=2000"
	fio_ok
	[ "$(jq '.jobs[0].read.total_ios' "$RES")" -eq 16000 ]
	exitless_data_path
	echo "# reads, qd32, vCPU 1: $(exits_per_io 1) exits per I/O, $(jq -r '(.vcpus[1].kvm.exits - .vcpus[1].kvm.irq_exits) / .window.ns * 1e9 | floor' "$STATS") per s; $(jq -r '.ios / .window.ns * 1e9 | floor' "$STATS") I/Os per s" >&3
	awk -v e="$(exits_per_io 1)" 'BEGIN { exit !(e < 0.05) }'
}

@test "Linux: the baseline (exit / process / irq): a notification exit per request and an interrupt per completion" {
	needs_linux
	long_in_rigs # a Linux boot takes about a minute in a rig
	linux_run "$(reads_job 500)" --request exit --emulation process --completion irq
	fio_ok
	[ "$(jq '.jobs[0].read.total_ios' "$RES")" -eq 500 ]
	echo "# baseline: $(exits_per_io) exits per I/O" >&3
	awk -v e="$(exits_per_io)" 'BEGIN { exit !(e >= 1) }'
	[ "$(jq .kvm.mmio_exits "$STATS")" -ge 500 ]
	[ "$(jq .devices.notifies "$STATS")" -ge 500 ]
	[ "$(jq .devices.irqs "$STATS")" -ge 500 ]
}

@test "Linux on virtio-pci: fio's verify job with an MSI-X vector per queue, no MMIO exit in the window" {
	needs_linux
	printf '[global]\nioengine=io_uring\ndirect=1\n[verify]\nrw=randwrite\nbs=4k\nsize=2m\niodepth=8\nverify=crc32c\n' \
		>"$BATS_TEST_TMPDIR/verify.fio"
	linux_run "$BATS_TEST_TMPDIR/verify.fio" --transport pci --completion irq
	fio_ok
	[ "$(jq '.jobs[0].read.io_bytes' "$RES")" -eq $((2 << 20)) ]
	# the kernel's own virtio_pci driver found the function behind the host bridge and took MSI-X vectors
	grep -q 'virtio0-config' "$CON" || { grep '^init:' "$CON"; return 1; }
	grep -q 'virtio0-req.0' "$CON"
	[ "$(jq -r .config.transport "$STATS")" = pci ]
	[ "$(jq .devices.irqs "$STATS")" -ge 100 ]
	# the MSI-X handler reads no register: what virtio-mmio pays twice per interrupt is gone
	[ "$(jq .kvm.mmio_exits "$STATS")" -eq 0 ] || { jq -c .kvm "$STATS"; return 1; }
	echo "# pci, irq: $(exits_per_io) exits per I/O, $(jq -r '.devices.irqs / .ios' "$STATS") interrupts per I/O" >&3
}

@test "Linux on virtio-pci, completion=hybrid: cpuidle-haltpoll polls before the vCPU halts" {
	needs_linux
	long_in_rigs # a Linux boot takes about a minute in a rig
	# one vCPU in the rig shares its CPU, so the VMM gives no KVM_HINTS_REALTIME: force the driver
	linux_run "$(reads_job 2000)" --transport pci --completion hybrid --cmdline cpuidle_haltpoll.force=1
	fio_ok
	[ "$(jq '.jobs[0].read.total_ios' "$RES")" -eq 2000 ]
	grep -q '^init: cpuidle: haltpoll' "$CON" || { grep '^init:' "$CON"; return 1; }
	[ "$(jq .kvm.mmio_exits "$STATS")" -eq 0 ]
	echo "# pci, hybrid: $(exits_per_io) exits per I/O, $(jq -r '.vcpus[0].kvm.halt_exits / .ios' "$STATS") halts per I/O" >&3
}

# init_initrd ACTION: an initramfs of busybox whose /init says hello and then runs ACTION (busybox applet).
init_initrd() {
	local root=$BATS_TEST_TMPDIR/root bb=$PWD/build/linux/busybox
	mkdir -p "$root/bin" "$root/proc"
	cp build/linux/busybox "$root/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho "init: hello"\n/bin/busybox %s -f\n' "$1" >"$root/init"
	chmod +x "$root/init"
	(cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null) >"$BATS_TEST_TMPDIR/init.cpio"
}

@test "Linux: an ACPI power-off ends the run with 0, a reset (reboot, panic) with 125 and one line" {
	needs_linux
	long_in_rigs # a Linux boot takes about a minute in a rig
	init_initrd poweroff
	BOOT_INITRD=$BATS_TEST_TMPDIR/init.cpio
	linux_run workloads/jobs/randread-4k-qd1.fio
	[ "$status" -eq 0 ] || { echo "status $status: $output"; tail -n 20 "$CON"; return 1; }
	grep -q 'reboot: Power down' "$CON"
	init_initrd reboot
	linux_run workloads/jobs/randread-4k-qd1.fio
	[ "$status" -eq 125 ]
	[[ "$output" == *"the guest reset the machine"* ]]
}

@test "Linux: QEMU microvm (ACPI on, KVM) boots the same image and runs the job with poll queues" {
	needs_linux
	long_in_rigs # a Linux boot takes about a minute in a rig
	command -v qemu-system-x86_64 >/dev/null || skip "no QEMU"
	guest-linux/initrd-with-job "$INITRD" "$(reads_job 300)" "$BATS_TEST_TMPDIR/job.cpio"
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	run timeout 300 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=on -enable-kvm -cpu host -m 512M \
		-smp 1 -nodefaults -display none -no-reboot -serial "file:$CON" \
		-chardev "file,id=com2,path=$RES" -device isa-serial,index=1,chardev=com2 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false \
		-kernel "$KERNEL" -initrd "$BATS_TEST_TMPDIR/job.cpio" \
		-append "console=ttyS0 reboot=acpi panic=-1 completion=poll virtio_blk.poll_queues=1 possible_cpus=2" \
		-drive "id=d0,file=$IMG,format=raw,if=none,cache=none" -device virtio-blk-device,drive=d0,num-queues=2
	[ "$status" -eq 1 ] || { echo "status $status: $output"; tail -n 20 "$CON"; return 1; } # isa-debug-exit: (0 << 1) | 1
	status=0
	fio_ok
	[ "$(jq '.jobs[0].read.total_ios' "$RES")" -eq 300 ]
	grep -q '1/0/1 default/read/poll queues' "$CON"
}
