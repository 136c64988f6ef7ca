# experiments/lib/host.sh - what the runner does around a cell on the host: perf stat, perf kvm stat (VT-x/SVM
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# hosts only), the cell timeout, dropping caches, and the run's metadata (meta.json, format 1).

PERF_EVENTS=""   # events perf stat records around every cell; empty when perf does not work here
KVM_STAT=0       # 1 when perf kvm stat records exit reasons (vmx/svm hosts)
KVM_STAT_PID=""
DROP_WARNED=0
WRAP=()          # the prefix of every cell command: perf stat, then timeout

# perf_probe: which perf events work on this host (EXITLESS_PERF=0 turns perf off).
perf_probe() {
	local out
	[ "${EXITLESS_PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1 || return 0
	out=$(perf stat -x, -e task-clock,context-switches,cpu-migrations true 2>&1 >/dev/null) || return 0
	grep -q '<not supported>' <<<"$out" && return 0
	PERF_EVENTS=task-clock,context-switches,cpu-migrations
	out=$(perf stat -x, -e cycles,instructions true 2>&1 >/dev/null) || true
	grep -qE '<not supported>|<not counted>' <<<"$out" || PERF_EVENTS+=,cycles,instructions
	case "$(kvm_flavor)" in
	vmx | svm) perf kvm stat record -o /dev/null true >/dev/null 2>&1 && KVM_STAT=1 ;;
	esac
	return 0
}

# host_wrap KIND REPDIR: sets WRAP for a cell: perf stat (counting the whole process tree) around timeout.
host_wrap() {
	local t
	t=$(cell_timeout)
	WRAP=()
	[ -z "$PERF_EVENTS" ] || WRAP=(perf stat "-x," -o "$2/perf.csv" -e "$PERF_EVENTS" --)
	# the VMM stops itself at --timeout; the outer timeout catches a VMM, QEMU or fio that does not
	[ "$1" = vmm ] && t=$((t + 15))
	WRAP+=(timeout -k 10 "$t")
}

# kvm_stat_start KIND REPDIR: on VT-x/SVM hosts, records KVM exit reasons system-wide while a VM cell runs.
kvm_stat_start() {
	KVM_STAT_PID=""
	[ "$KVM_STAT" = 1 ] && [ "$1" != bare ] || return 0
	perf kvm stat record -a -o "$2/perf-kvm.data" >/dev/null 2>"$2/perf-kvm.log" &
	KVM_STAT_PID=$!
	sleep 0.3
}

# kvm_stat_stop REPDIR: stops the recording and keeps the exit-reason report (perf-kvm.txt).
kvm_stat_stop() {
	[ -n "$KVM_STAT_PID" ] || return 0
	kill -INT "$KVM_STAT_PID" 2>/dev/null || true
	wait "$KVM_STAT_PID" 2>/dev/null || true
	perf kvm stat report -i "$1/perf-kvm.data" --event=vmexit >"$1/perf-kvm.txt" 2>>"$1/perf-kvm.log" || true
	rm -f "$1/perf-kvm.data"
	KVM_STAT_PID=""
}

# drop_caches_maybe: drops the page cache before a cell when the study says so (warns once if it cannot).
drop_caches_maybe() {
	[ "${STUDY[drop_caches]}" = yes ] || return 0
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		[ "$DROP_WARNED" = 1 ] || warn "cannot drop caches (needs root): cells run with a warm page cache"
		DROP_WARNED=1
	fi
}

# meta_commands: "cell<TAB>rep<TAB>command" for every planned repetition.
meta_commands() {
	local entry rep cell config job
	for entry in "${PLAN[@]}"; do
		IFS=$'\t' read -r rep cell config job <<<"$entry"
		cell_command "$config" "$job" "$OUT/cells/$cell/rep$rep"
		printf '%s\t%s\t%s\n' "$cell" "$rep" "$(shell_words "${CMD[@]}")"
	done
}

# meta_pinning: the placement each VMM configuration asks for ("default": the VMM's own, see stats.json).
meta_pinning() {
	local c
	for c in "${CONFIGS[@]}"; do
		[ "${CONF[$c.kind]}" = vmm ] && printf '%s\t%s\n' "$c" "$(conf "$c" pin default)"
	done
	return 0
}

# meta_write: meta.json (format 1) on stdout.
meta_write() {
	local flavor
	flavor=$(kvm_flavor)
	jq -n --arg run "$(basename "$OUT")" --arg study "$STUDY_NAME" --arg commit "$(git_commit)" \
		--argjson dirty "$(git_dirty)" --arg date "$(date -Iseconds)" --arg host "$(hostname)" \
		--arg cpu "$(cpu_model)" --argjson cores "$(nproc)" --arg kernel "$(uname -r)" --arg flavor "$flavor" \
		--argjson posted "$(posted_interrupts "$flavor")" --arg tsc "$TSC_KHZ" \
		--arg fio "$(tool_version "$FIO" --version)" --arg qemu "$(tool_version "$QEMU" --version)" \
		--arg gcc "$(tool_version gcc --version)" --arg perf "$(tool_version perf --version)" \
		--arg disk "$DISK" --arg disk_kind "$DISK_KIND" --argjson disk_bytes "$DISK_BYTES" \
		--argjson rw_device "$RW_DEVICE" --arg perf_events "$PERF_EVENTS" --argjson kvm_stat "$KVM_STAT" \
		--arg drop "${STUDY[drop_caches]}" --argjson reps "${STUDY[reps]}" --arg runtime "${STUDY[runtime]:-}" \
		--arg ramp "${STUDY[ramp_time]:-}" --arg shuffle "${STUDY[shuffle]}" \
		--argjson memory "$(host_memory_json)" \
		--argjson platform "$(platform_json)" \
		--rawfile pins <(meta_pinning) --rawfile cmds <(meta_commands) '
	def lines: split("\n") | map(select(length > 0) | split("\t"));
	{format: 1, run: $run, study: $study, git: {commit: $commit, dirty: $dirty}, date: $date,
	 host: {name: $host, cpu_model: $cpu, cores: $cores, kernel: $kernel, kvm_flavor: $flavor,
	        posted_interrupts: $posted, tsc_khz: (if $tsc == "" then null else ($tsc | tonumber) end),
	        emulated: ($platform.emulated // false), hypervisor: ($platform.host_hypervisor // null)},
	 versions: {fio: $fio, qemu: $qemu, gcc: $gcc, perf: $perf},
	 disk: {path: $disk, kind: $disk_kind, bytes: $disk_bytes, rw_device: ($rw_device == 1)},
	 study_settings: {reps: $reps, runtime: $runtime, ramp_time: $ramp, drop_caches: $drop, shuffle: $shuffle},
	 perf: {stat_events: $perf_events, kvm_stat: ($kvm_stat == 1)},
	 host_memory: $memory,
	 pinning: ($pins | lines | map({(.[0]): .[1]}) | add // {}),
	 commands: ($cmds | lines | map({cell: .[0], rep: (.[1] | tonumber), cmd: .[2]}))}'
}

# ---- host knobs a study asks for (hugepages, THP for shmem), restored when the run ends ----------------

HOST_SETUP=""         # "knob<TAB>before<TAB>asked<TAB>got" lines, for meta.json
RESTORE_HUGEPAGES=""
RESTORE_THP_SHMEM=""
THP_SHMEM=/sys/kernel/mm/transparent_hugepage/shmem_enabled

# thp_value FILE: the bracketed (current) word of a transparent_hugepage knob.
thp_value() {
	sed -n 's/.*\[\([a-z_]*\)\].*/\1/p' "$1" 2>/dev/null
}

# host_setup: reserves STUDY[hugepages] 2 MiB pages and sets shmem's THP mode to STUDY[thp_shmem], as the
# study asks; warns when the host refuses (not root); host_restore puts both back.
host_setup() {
	local before got
	if [ -n "${STUDY[hugepages]:-}" ]; then
		before=$(cat /proc/sys/vm/nr_hugepages)
		{ echo "${STUDY[hugepages]}" >/proc/sys/vm/nr_hugepages; } 2>/dev/null || true
		got=$(cat /proc/sys/vm/nr_hugepages)
		[ "$got" -ge "${STUDY[hugepages]}" ] || warn "only $got of ${STUDY[hugepages]} hugepages could be reserved"
		RESTORE_HUGEPAGES=$before
		HOST_SETUP+="hugepages"$'\t'"$before"$'\t'"${STUDY[hugepages]}"$'\t'"$got"$'\n'
	fi
	if [ -n "${STUDY[thp_shmem]:-}" ]; then
		before=$(thp_value "$THP_SHMEM")
		{ echo "${STUDY[thp_shmem]}" >"$THP_SHMEM"; } 2>/dev/null || true
		got=$(thp_value "$THP_SHMEM")
		[ "$got" = "${STUDY[thp_shmem]}" ] || warn "transparent_hugepage/shmem_enabled stays $got (needs root)"
		RESTORE_THP_SHMEM=$before
		HOST_SETUP+="thp_shmem"$'\t'"$before"$'\t'"${STUDY[thp_shmem]}"$'\t'"$got"$'\n'
	fi
	return 0
}

# host_restore: the knobs as host_setup found them.
host_restore() {
	[ -z "$RESTORE_HUGEPAGES" ] || { echo "$RESTORE_HUGEPAGES" >/proc/sys/vm/nr_hugepages; } 2>/dev/null || true
	[ -z "$RESTORE_THP_SHMEM" ] || { echo "$RESTORE_THP_SHMEM" >"$THP_SHMEM"; } 2>/dev/null || true
	RESTORE_HUGEPAGES="" RESTORE_THP_SHMEM=""
}

# host_memory_json: the memory knobs in force (after host_setup) and what host_setup changed.
host_memory_json() {
	jq -n --arg thp "$(thp_value /sys/kernel/mm/transparent_hugepage/enabled)" --arg shmem "$(thp_value "$THP_SHMEM")" \
		--argjson huge "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo null)" --arg setup "$HOST_SETUP" '
	{thp_enabled: $thp, thp_shmem_enabled: $shmem, nr_hugepages: $huge,
	 changed: ($setup | split("\n") | map(select(length > 0) | split("\t") |
		{(.[0]): {before: .[1], asked: .[2], got: .[3]}}) | add // {})}'
}
