#!/usr/bin/env bats
# vmm.bats - build/vmm end to end: boot, exit codes, timeout and the one-line errors on bad input.

load ../../tests/rig

setup() {
	VMM=${VMM:-build/vmm}
	MINI=build/tests/mini-guest.elf
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

@test "the mini guest boots, prints on COM1 and exits 0" {
	run "$VMM" --cmdline 0 "$MINI"
	[ "$status" -eq 0 ]
	[ "$output" = "mini-guest: hello" ]
}

@test "the guest's debug-exit code becomes the VMM's exit status" {
	run "$VMM" --cmdline 7 "$MINI"
	[ "$status" -eq 7 ]
}

@test "--console sends COM1 to a file" {
	run "$VMM" --console "$TMP/con" --cmdline 0 "$MINI"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(cat "$TMP/con")" = "mini-guest: hello" ]
}

@test "a guest that spins forever is stopped by --timeout with 124" {
	# Under Bochs 2.7 a nested guest looping on `jmp .` at CPL0 with interrupts off stops the whole VMX rig
	# (its kernel gets no timer interrupt again: seen twice at the same point, on a real kvm_intel in Bochs).
	[ -z "${VMX_RIG:-}" ] || skip "a jmp-to-itself guest stops Bochs's own VMX rig (ci/README.md)"
	run "$VMM" --timeout 1 --cmdline s "$MINI"
	[ "$status" -eq 124 ]
	[[ "$output" == *"vmm: guest timed out after 1 s"* ]]
	[[ "$output" == *"vcpu 0"*"rip="* ]] # what the hung guest was doing
}

@test "a timeout reports every queue's ring state" {
	local img="$TMP/disk.img"
	dd if=/dev/zero of="$img" bs=1M count=8 status=none
	printf '[spin]\nrw=randread\nbs=4k\ntime_based\nruntime=60s\n' >"$TMP/spin.fio"
	run "$VMM" --timeout 2 --cpus 2 --disk "$img,queues=2" --module "$TMP/spin.fio" --console /dev/null build/guest.elf
	[ "$status" -eq 124 ]
	[[ "$output" == *"vmm: disk 0 queue 0: active, avail idx "*", requests "* ]]
	[[ "$output" == *"vmm: disk 0 queue 1: active, avail idx 0,"* ]]
}

@test "a missing guest file is one clear line and status 2" {
	host_only
	run "$VMM" "$TMP/nope.elf"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: cannot open $TMP/nope.elf: No such file or directory" ]
}

@test "a file that is not an ELF is one clear line and status 2" {
	host_only
	echo "hello" >"$TMP/bad.elf"
	run "$VMM" "$TMP/bad.elf"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: $TMP/bad.elf: not an ELF file" ]
}

@test "a truncated ELF is one clear line and status 2" {
	host_only
	head -c 100 "$MINI" >"$TMP/short.elf"
	run "$VMM" "$TMP/short.elf"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: $TMP/short.elf: truncated or malformed ELF program headers" ]
}

@test "an ELF without the PVH note is rejected with status 2" {
	host_only
	run "$VMM" /bin/true
	[ "$status" -eq 2 ]
	[[ "$output" == "vmm: /bin/true: not an executable ELF"* ]]
}

@test "a bad flag is one clear line and status 2" {
	host_only
	run "$VMM" --frobnicate "$MINI"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: unknown option '--frobnicate' (see --help)" ]
}

@test "a flag without its value is one clear line and status 2" {
	host_only
	run "$VMM" "$MINI" --mem
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "a bad --mem value is named" {
	host_only
	run "$VMM" --mem 5 "$MINI"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: --mem: '5' is not a number in [16, 3072]" ]
}

@test "--poll-us takes N or adaptive[:MAX]; anything else is named, status 2" {
	host_only
	local bad good
	for bad in adaptive: adaptivex fast -1; do
		run "$VMM" --poll-us "$bad" "$MINI"
		[ "$status" -eq 2 ]
		[ "$output" = "vmm: --poll-us: '$bad' is not N or adaptive[:MAX] (N, MAX in µs)" ]
	done
	run "$VMM" --poll-us adaptive:0 "$MINI"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: --poll-us adaptive:MAX: '0' is not a number in [1, 10000000]" ]
	run "$VMM" --poll-us 10000001 "$MINI"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: --poll-us: '10000001' is not a number in [0, 10000000]" ]
	for good in 0 50 adaptive adaptive:64; do
		run "$VMM" --poll-us "$good" --stats "$TMP/s.json" --cmdline 0 "$MINI"
		[ "$status" -eq 0 ]
	done
	[ "$(jq -c '.config | [.poll_us, .poll_adaptive]' "$TMP/s.json")" = "[64,true]" ]
	run "$VMM" --help
	[[ "$output" == *"--poll-us N|adaptive[:MAX]"* ]]
}

@test "a module that does not fit in guest RAM is one clear line and status 2" {
	host_only
	truncate -s 20M "$TMP/big"
	run "$VMM" --mem 16 --module "$TMP/big" --cmdline 0 "$MINI"
	[ "$status" -eq 2 ]
	[ "$output" = "vmm: module $TMP/big (20971520 bytes) does not fit in guest RAM above the kernel: use a larger --mem" ]
}

@test "--help lists every flag and exits 0" {
	host_only
	run "$VMM" --help
	[ "$status" -eq 0 ]
	for f in mem cmdline module console results timeout; do
		[[ "$output" == *"--$f"* ]]
	done
}

@test "--switches lists every option, switch, mode, default and backend that --help shows, as JSON" {
	host_only
	local help sw
	help=$("$VMM" --help)
	sw=$("$VMM" --switches)
	# every "--flag mode" line of --help's modes, and nothing else, in the same order
	diff <(sed -n '/^modes:/,$p' <<<"$help" | awk 'NF > 1 { print $1, $2 }') \
		<(jq -r '.switches[] | .flag as $f | .modes[] | "--\($f) \(.name)"' <<<"$sw")
	diff <(grep -o '^  --[a-z-]*' <<<"$(sed '/^modes:/,$d' <<<"$help")" | sed 's/^  --//') <(jq -r '.options[].name' <<<"$sw")
	# each default is one of its switch's modes, and what a run without the flag takes
	jq -e '[.switches[] | .default as $d | [.modes[].name] | index($d)] | all' <<<"$sw"
	[ "$(jq -r '[.switches[] | "\(.flag)=\(.default)"] | join(" ")' <<<"$sw")" = \
		"request=exitless emulation=auto completion=poll transport=mmio hlt-exits=on" ]
	[ "$(jq -r '.backends | join("|")' <<<"$sw")" = "uring|sync|null|ram" ]
}

@test "--dry-run: the switches resolved, each disk's transport and queues, the guest command line; what a run takes" {
	host_only
	local d args guest=build/guest.elf
	# a Linux guest polling on one vCPU gets a poll queue and a second possible CPU; on two, a queue per vCPU
	run "$VMM" --dry-run --initrd /dev/null --completion poll --cpus 1 --disk a.img --disk b.img,queues=3,transport=pci vmlinux
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.guest_kind, .cmdline_complete, [.disks[] | "\(.transport)/\(.queues)"]]' <<<"$output")" = \
		'["linux",true,["mmio/2","pci/3"]]' ]
	[ "$(jq -r .cmdline <<<"$output")" = \
		"console=ttyS0 reboot=acpi panic=-1 request=exitless emulation=inline completion=poll virtio_blk.poll_queues=1 possible_cpus=2" ]
	run "$VMM" --dry-run --initrd /dev/null --completion irq --cpus 2 --cmdline quiet --disk a.img vmlinux
	[ "$(jq -r '"\(.disks[0].queues) \(.cmdline)"' <<<"$output")" = \
		"2 console=ttyS0 reboot=acpi panic=-1 quiet request=exitless emulation=inline completion=irq" ]
	# bad input is refused as in a run
	run "$VMM" --dry-run --request fast x
	[ "$status" -eq 2 ]
	# what it says is what a run of the tiny guest takes: the modes as resolved (auto placed by the CPUs given)
	d="$BATS_TEST_TMPDIR/d.img"
	truncate -s 16M "$d"
	printf '[r]\nrw=randread\nbs=4k\nnumber_ios=100\n' >"$BATS_TEST_TMPDIR/r.fio"
	for args in "--emulation auto" "--emulation auto --pin vcpu=0,iocore=0,dev=1" "--request exit --completion irq --transport pci"; do
		# shellcheck disable=SC2086
		run "$VMM" --dry-run $args --disk "$d" "$guest"
		echo "$output" >"$BATS_TEST_TMPDIR/plan.json"
		# shellcheck disable=SC2086
		"$VMM" $args --disk "$d" --module "$BATS_TEST_TMPDIR/r.fio" --stats "$BATS_TEST_TMPDIR/s.json" --console /dev/null "$guest"
		[ "$(jq -r '"\(.request) \(.emulation) \(.emulation_asked) \(.completion) \(.transport)"' "$BATS_TEST_TMPDIR/plan.json")" = \
			"$(jq -r '.config | "\(.request) \(.emulation) \(.emulation_asked) \(.completion) \(.transport)"' "$BATS_TEST_TMPDIR/s.json")" ]
	done
}

# thp_on KNOB: whether transparent_hugepage/KNOB lets madvised memory have huge pages.
thp_on() {
	grep -Eq '\[(always|madvise|advise|within_size)\]' "/sys/kernel/mm/transparent_hugepage/$1"
}

# no_pool_for MIB: skips when the host's free 2 MiB pages could hold MIB of guest RAM (auto would take them).
no_pool_for() {
	[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -lt "$(($1 / 2))" ] ||
		skip "this host has free hugepages for $1 MiB"
}

@test "auto, no hugepage pool: in-VMM emulation gets transparent huge pages on private memory, no note" {
	host_only
	thp_on enabled || skip "transparent_hugepage/enabled is never here"
	no_pool_for 3072
	run "$VMM" --mem 3072 --stats "$TMP/s.json" --cmdline 0 "$MINI"
	[ "$status" -eq 0 ]
	[ "$output" = "mini-guest: hello" ]
	jq -e '.memory.backing == "thp" and .memory.requested == "auto"' "$TMP/s.json"
}

@test "auto, no hugepage pool, shmem THP off: a device process's shared RAM on 4 KiB pages, and one line saying what would give huge pages" {
	host_only
	! thp_on shmem_enabled || skip "transparent_hugepage/shmem_enabled allows huge pages here"
	no_pool_for 3072
	run "$VMM" --mem 3072 --emulation process --stats "$TMP/s.json" --cmdline 0 "$MINI"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "vmm: note: guest RAM is on 4 KiB pages (1536 free 2 MiB hugepages needed, $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) free; transparent_hugepage/shmem_enabled is off for the memory a device process shares): reserve them (echo 1536 > /proc/sys/vm/nr_hugepages) or set transparent_hugepage/shmem_enabled to advise" ]
	[ "${lines[1]}" = "mini-guest: hello" ]
	jq -e '.memory.backing == "4k"' "$TMP/s.json"
	run "$VMM" --mem 3072 --emulation process --mem-backing 4k --cmdline 0 "$MINI"
	[ "$output" = "mini-guest: hello" ]
}

@test "an initramfs too large for --mem is one line and status 2 before the guest starts" {
	host_only
	{ printf '070701'; head -c $((90 << 20)) /dev/zero; } >"$TMP/big.cpio"
	run "$VMM" --console "$TMP/con" --initrd "$TMP/big.cpio" build/guest.elf
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^"vmm: the initramfs $TMP/big.cpio (90 MiB with the job) needs --mem "([0-9]+)" or more: this kernel takes "[0-9]+" MiB and keeps the archive while it unpacks it into a tmpfs of at most half the RAM left (rootfstype=ramfs on --cmdline needs less)"$ ]]
	# the kernel, the archive and twice its files: 3 x 90 MiB and more
	[ "${BASH_REMATCH[1]}" -ge 270 ]
	[ ! -s "$TMP/con" ]
	# as much RAM as it asks for, or a ramfs root, and the check passes (the tiny guest then refuses the archive as a job)
	run "$VMM" --mem "${BASH_REMATCH[1]}" --console "$TMP/con" --initrd "$TMP/big.cpio" build/guest.elf
	[[ "$output" != *"needs --mem"* ]]
	run "$VMM" --cmdline rootfstype=ramfs --console "$TMP/con" --initrd "$TMP/big.cpio" build/guest.elf
	[[ "$output" != *"needs --mem"* ]]
	run "$VMM" --mem 128 --cmdline rootfstype=ramfs --console "$TMP/con" --initrd "$TMP/big.cpio" build/guest.elf
	[ "$status" -eq 2 ]
	[[ "$output" == *"or more: this kernel takes "*" MiB and keeps the archive while it unpacks it into a ramfs" ]]
}
