# experiments/lib/cell.sh - the command line of one cell (bare-metal fio, build/vmm or QEMU microvm) and the
# shellcheck shell=bash disable=SC2034,SC2153 # sourced: globals shared with the scripts that source it
# job-file copies it runs. Every command is built as an argument array, so what runs is what `cmd` records.

VMM=${EXITLESS_VMM:-build/vmm}
GUEST=${EXITLESS_GUEST:-build/guest.elf}
LINUX_KERNEL=${EXITLESS_LINUX_KERNEL:-build/linux/vmlinux}
LINUX_INITRD=${EXITLESS_LINUX_INITRD:-build/linux/initramfs.cpio}
FIO=${EXITLESS_FIO:-fio}
QEMU=${EXITLESS_QEMU:-qemu-system-x86_64}

CMD=()       # the cell's command, set by cell_command
RESULT=""    # the file that holds the cell's fio-format JSON (fio.json or guest.json)

# job_override SRC DST KEY=VALUE...: copies a job file, replacing every KEY= line with KEY=VALUE (an empty
# VALUE deletes the lines); a KEY the file lacks goes into [global] (created at the top when missing).
job_override() {
	local src=$1 dst=$2
	shift 2
	awk -v set="$*" '
	BEGIN { n = split(set, kv, " "); for (i = 1; i <= n; i++) { p = index(kv[i], "="); v[substr(kv[i], 1, p - 1)] = substr(kv[i], p + 1) } }
	function keyof(line,   k) { if (!index(line, "=")) return ""; k = substr(line, 1, index(line, "=") - 1); gsub(/^[ \t]+|[ \t]+$/, "", k); return k }
	FNR == NR { k = keyof($0); if (k in v) have[k] = 1; if ($0 ~ /^[ \t]*\[global\]/) g = 1; next }
	FNR == 1 && !g { head = 0; for (k in v) if (!(k in have) && v[k] != "") { if (!head++) print "[global]"; print k "=" v[k] }; if (head) print "" }
	{ k = keyof($0) }
	k in v { if (v[k] != "") print k "=" v[k]; next }
	{ print }
	$0 ~ /^[ \t]*\[global\]/ { for (k in v) if (!(k in have) && v[k] != "") print k "=" v[k] }
	' "$src" "$src" >"$dst"
}

# device_polls PATH: whether the block device under PATH (a block device, or the one holding the file) has
# polled completions (queue/io_poll), so fio's hipri can be used on it.
device_polls() {
	local dev name
	if [ -b "$1" ]; then dev=$1; else dev=$(df --output=source "$1" 2>/dev/null | tail -n 1); fi
	name=$(basename "$(readlink -f "$dev" 2>/dev/null)")
	[ -n "$name" ] || return 1
	[ -e "/sys/class/block/$name/partition" ] && name=$(basename "$(readlink -f "/sys/class/block/$name/..")")
	[ "$(cat "/sys/block/$name/queue/io_poll" 2>/dev/null)" = 1 ]
}

# fio_options CONFIG JOB: the configuration's fio_options as KEY=VALUE words for JOB. poll=auto asks for polled
# completions where they help: fio spinning on the completion ring at queue depth 1
# (iodepth_batch_complete_min=0; at depth it would reap one at a time), and the kernel polling the device
# (hipri=1) where the device has poll queues.
fio_options() {
	local w words=()
	for w in ${CONF[$1.fio_options]:-}; do
		if [ "$w" != poll=auto ]; then
			words+=("$w")
			continue
		fi
		[ "$(job_attr "$(job_file "$2")" iodepth 1)" != 1 ] || words+=(iodepth_batch_complete_min=0)
		if device_polls "$DISK"; then words+=(hipri=1); fi
	done
	echo "${words[*]}"
}

# jobs_prepare OUTDIR: the job copies of a run: jobs/JOB.fio for guests, jobs/JOB.host.fio for host fio (direct
# I/O through io_uring on the given image, whatever the job file says) and jobs/JOB.CONFIG.host.fio for a bare
# configuration with fio_options; runtime and ramp_time from the study.
jobs_prepare() {
	local out=$1 j c set=() opts=()
	mkdir -p "$out/jobs"
	[ -n "${STUDY[runtime]:-}" ] && set+=("runtime=${STUDY[runtime]}")
	[ -n "${STUDY[ramp_time]:-}" ] && set+=("ramp_time=${STUDY[ramp_time]}")
	for j in "${JOBS[@]}"; do
		job_override "$(job_file "$j")" "$out/jobs/$j.fio" "${set[@]}"
		job_override "$(job_file "$j")" "$out/jobs/$j.host.fio" "${set[@]}" direct=1 ioengine=io_uring filename=
		for c in "${CONFIGS[@]}"; do
			if [ "${CONF[$c.kind]}" != bare ] || [ -z "${CONF[$c.fio_options]:-}" ]; then continue; fi
			read -r -a opts <<<"$(fio_options "$c" "$j")"
			job_override "$(job_file "$j")" "$out/jobs/$j.$c.host.fio" "${set[@]}" direct=1 ioengine=io_uring \
				filename= "${opts[@]}"
		done
	done
}

# cell_timeout: seconds a cell may take before it is stopped and recorded as a timeout.
cell_timeout() {
	if [ -n "${STUDY[timeout]:-}" ]; then
		echo "${STUDY[timeout]}"
	elif [ -n "${STUDY[runtime]:-}" ]; then
		echo $((STUDY[runtime] + ${STUDY[ramp_time]:-0} + 60))
	else
		echo 600
	fi
}

# conf CONFIG KEY [DEFAULT]: a configuration's value, the study's value, or DEFAULT.
conf() {
	local v=${CONF[$1.$2]:-}
	[ -n "$v" ] || v=${STUDY[$2]:-}
	[ -n "$v" ] || v=${3:-}
	echo "$v"
}

# linux_guest CONFIG: "linux" when the configuration boots the Linux guest (guest = linux), else nothing.
linux_guest() {
	[ "$(conf "$1" guest tiny)" != linux ] || echo linux
}

# cell_command CONFIG JOB REPDIR: sets CMD and RESULT for one repetition of a cell.
cell_command() {
	local config=$1 job=$2 dir=$3
	case "${CONF[$config.kind]}" in
	bare) cell_bare "$config" "$job" "$dir" ;;
	vmm) cell_vmm "$config" "$job" "$dir" ;;
	qemu) cell_qemu "$config" "$job" "$dir" ;;
	esac
}

# cell_bare CONFIG JOB REPDIR: the real fio, as on bare metal, on the same image (with the configuration's
# fio_options, e.g. hugepage buffers and registered buffers and files: bare metal at its best).
cell_bare() {
	local job=$OUT/jobs/$2.host.fio
	[ -z "${CONF[$1.fio_options]:-}" ] || job=$OUT/jobs/$2.$1.host.fio
	RESULT=fio.json
	CMD=("$FIO" --output-format=json "--output=$3/fio.json" "--filename=$DISK")
	[ "$DISK_KIND" = blockdev ] && [ "$RW_DEVICE" != 1 ] && CMD+=(--readonly)
	CMD+=("$job")
}

# machine_args CONFIG: sets MACHINE to the build/vmm options that make a configuration's machine and its guest's
# command line: memory, vCPUs, every switch of build/vmm --switches the configuration sets, poll window,
# contexts, memory backing, placement, the guest's own words, vmm_args. Options the configuration does not set
# are left to the VMM's defaults.
MACHINE=()
machine_args() {
	local c=$1 f v extra=()
	MACHINE=(--mem "$(conf "$c" mem 256)")
	for f in "${SWITCH_FLAGS[@]}"; do
		v=${CONF[$c.$(switch_key "$f")]:-}
		[ -z "$v" ] || MACHINE+=("--$f" "$v")
	done
	[ -n "${CONF[$c.poll_us]:-}" ] && MACHINE+=(--poll-us "${CONF[$c.poll_us]}")
	v=$(conf "$c" cpus)
	[ -z "$v" ] || MACHINE+=(--cpus "$v")
	v=$(conf "$c" contexts)
	[ -z "$v" ] || MACHINE+=(--emulation-contexts "$v")
	v=$(conf "$c" mem_backing)
	[ -z "$v" ] || MACHINE+=(--mem-backing "$v")
	v=$(conf "$c" pin)
	[ -z "$v" ] || MACHINE+=(--pin "$v")
	v=$(conf "$c" guest_cmdline)
	[ -z "$v" ] || MACHINE+=(--cmdline "$v")
	read -r -a extra <<<"${CONF[$c.vmm_args]:-}"
	MACHINE+=("${extra[@]}")
}

# guest_image CONFIG: sets GUEST_ARGS to build/vmm's guest arguments: the Linux guest (Debian's kernel with the
# initramfs; the VMM appends the job to it as exitless/job.fio) or the tiny guest.
GUEST_ARGS=()
guest_image() {
	if [ -n "$(linux_guest "$1")" ]; then GUEST_ARGS=(--initrd "$LINUX_INITRD" "$LINUX_KERNEL"); else GUEST_ARGS=("$GUEST"); fi
}

# cell_vmm CONFIG JOB REPDIR: build/vmm with the configuration's machine (machine_args).
cell_vmm() {
	local c=$1 job=$2 dir=$3 disk v extra=()
	disk="$DISK,backend=$(conf "$c" backend uring)"
	v=$(conf "$c" queues)
	[ -z "$v" ] || disk+=",queues=$v"
	if [ "$DISK_KIND" = blockdev ]; then
		if [ "$RW_DEVICE" = 1 ]; then disk+=",rw-device"; else disk+=",ro"; fi
	fi
	RESULT=guest.json
	machine_args "$c"
	guest_image "$c"
	CMD=("$VMM" "${MACHINE[@]}" --module "$OUT/jobs/$job.fio" --console "$dir/console.log"
		--results "$dir/guest.json" --stats "$dir/stats.json" --timeout "$(cell_timeout)" --disk "$disk")
	# EXITLESS_VMM_ARGS (ci/perf-ab --a-args/--b-args): placed last, so they override the configuration's
	read -r -a extra <<<"${EXITLESS_VMM_ARGS:-}"
	CMD+=("${extra[@]}" "${GUEST_ARGS[@]}")
}

# guest_words CONFIG: what build/vmm would give this configuration's guest, from build/vmm --dry-run of the same
# options: the guest's command line in WORDS and the disk's queue count in QUEUES, so that QEMU gives the same
# guest the same words (the console, the modes, a virtio_blk poll queue and a second possible CPU for polled
# completions on Linux) and as many queues. Left out: request= and emulation=, which name build/vmm's own
# request path and device placement; the tiny guest gets tsc_khz= as the VMM adds it at boot.
WORDS="" QUEUES=""
guest_words() {
	local c=$1 out q
	machine_args "$c"
	guest_image "$c"
	q=$(conf "$c" queues)
	out=$(cd "$ROOT" && "$VMM" --dry-run "${MACHINE[@]}" --disk "$DISK${q:+,queues=$q}" "${GUEST_ARGS[@]}" 2>&1) ||
		die "configuration $c: build/vmm --dry-run refuses it: ${out#vmm: }"
	WORDS=$(jq -r '.cmdline | split(" ") | map(select(test("^(request|emulation)=") | not)) | join(" ")' <<<"$out")
	[ -n "$(linux_guest "$c")" ] || WORDS+=${TSC_KHZ:+ tsc_khz=$TSC_KHZ}
	WORDS=${WORDS# }
	QUEUES=$(jq -r '.disks[0].queues' <<<"$out")
}

# cell_qemu CONFIG JOB REPDIR: the same guest (guest.elf, or the Linux guest) under QEMU microvm, with the
# command line and queues build/vmm would give it (guest_words). microvm makes only COM1, so COM2 (where the
# guest writes its results) is added as an isa-serial device at index 1 (0x2f8, IRQ 3).
cell_qemu() {
	local c=$1 job=$2 dir=$3 variant drive dev mem cpus linux acpi=off
	variant=$(conf "$c" qemu default)
	mem=$(conf "$c" mem 256)
	cpus=$(conf "$c" cpus 1)
	guest_words "$c"
	drive="id=d0,file=$DISK,format=raw,if=none,cache=none"
	[ "$variant" = iothread-uring ] && drive+=",aio=io_uring"
	[ "$DISK_KIND" = blockdev ] && [ "$RW_DEVICE" != 1 ] && drive+=",readonly=on"
	# null-co: QEMU's own null path (no data moved), the size of the image
	[ "$(conf "$c" qemu_drive file)" = null ] && drive="id=d0,driver=null-co,size=$DISK_BYTES,if=none"
	dev="virtio-blk-device,drive=d0,num-queues=$QUEUES"
	[ "$variant" != default ] && dev+=",iothread=io0"
	linux=$(linux_guest "$c")
	[ -z "$linux" ] || acpi=on
	RESULT=guest.json
	# microvm describes its devices in ACPI (what the Linux guest reads) with acpi=on; the tiny guest needs none
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	CMD=("$QEMU" -M "microvm,x-option-roms=off,rtc=off,acpi=$acpi" -enable-kvm -cpu host,-arch-capabilities
		-m "${mem}M" -smp "$cpus,sockets=1,cores=$cpus" -nodefaults -display none -no-reboot
		-serial "file:$dir/console.log" -chardev "file,id=com2,path=$dir/guest.json" -device isa-serial,index=1,chardev=com2
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -global virtio-mmio.force-legacy=false)
	if [ -n "$linux" ]; then
		# QEMU cannot append the job to the initramfs: a copy per job holds it
		[ -f "$OUT/jobs/$job.linux.cpio" ] || "$ROOT/guest-linux/initrd-with-job" "$LINUX_INITRD" "$OUT/jobs/$job.fio" "$OUT/jobs/$job.linux.cpio"
		CMD+=(-kernel "$LINUX_KERNEL" -initrd "$OUT/jobs/$job.linux.cpio" -append "$WORDS")
	else
		CMD+=(-kernel "$GUEST" -initrd "$OUT/jobs/$job.fio" -append "$WORDS")
	fi
	[ "$variant" = default ] || CMD+=(-object "iothread,id=io0")
	# QEMU's RAM is anonymous memory it madvises for THP; hugetlb puts it on 2 MiB pages as build/vmm does
	[ "$(conf "$c" qemu_mem default)" = hugetlb ] &&
		CMD+=(-object "memory-backend-memfd,id=ram,size=${mem}M,hugetlb=on,hugetlbsize=2M" -machine memory-backend=ram)
	CMD+=(-drive "$drive" -device "$dev")
}

# cell_verdict KIND RC DIR: "ok" or "failed reason" from a command's exit status (QEMU's isa-debug-exit turns
# the guest's code N into (N << 1) | 1, so 1 is success there). Status 2 of a VM is either the VMM refusing
# its input before the guest started (one "vmm:" line on stderr) or the guest refusing its job file or
# command line (its console says which line): the reason tells them apart.
cell_verdict() {
	local kind=$1 rc=$2 dir=$3 line
	if [ "$kind" = qemu ]; then
		case "$rc" in
		1) rc=0 ;;
		3) rc=1 ;;
		5) rc=2 ;;
		0) echo "failed the guest stopped without an exit code (see console.log)"; return ;;
		esac
	elif [ "$kind" = bare ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
		echo "failed fio exit status $rc (see stderr.log)"
		return
	fi
	case "$rc" in
	0) echo ok ;;
	1) echo "failed I/O error or verify mismatch (see console.log)" ;;
	2)
		line=$(grep -m 1 '^vmm: ' "$dir/stderr.log" 2>/dev/null || true)
		if [ -n "$line" ]; then echo "failed build/vmm refused its input: ${line#vmm: }"
		else echo "failed the guest refused its job file or command line (see console.log)"; fi
		;;
	124 | 137) echo "failed timeout after $(cell_timeout) s" ;;
	*) echo "failed exit status $rc (see stderr.log)" ;;
	esac
}
