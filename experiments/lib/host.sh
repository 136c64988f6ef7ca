# experiments/lib/host.sh - what the runner does around a cell on the host: perf stat, the cell timeout,
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# dropping caches, the untimed exit-reason pass (perf kvm stat, VT-x/SVM hosts), the hugepage pool and THP
# mode a study needs, and the run's metadata (meta.json, format 1).

PERF_EVENTS=""   # events perf stat records around every cell; empty when perf does not work here
PERF_MISSING=""  # why there are no perf figures (CPU time, cores busy), when PERF_EVENTS is empty
KVM_STAT=0       # 1 when perf kvm stat can record exit reasons here (vmx/svm hosts)
DROP_WARNED=0
WRAP=()          # the prefix of every cell command: perf stat, then timeout

# perf_probe: which perf events work on this host (EXITLESS_PERF=0 turns perf off); PERF_MISSING says why
# none when none does. duration_time (the wall time perf saw) gives cores busy = task-clock / duration.
perf_probe() {
	local out
	if [ "${EXITLESS_PERF:-1}" = 0 ]; then
		PERF_MISSING="perf turned off (EXITLESS_PERF=0)"
		return 0
	fi
	command -v perf >/dev/null 2>&1 || { PERF_MISSING="perf is not installed (make deps installs linux-perf)"; return 0; }
	if ! out=$(perf stat -x, -e task-clock,context-switches,cpu-migrations,duration_time true 2>&1 >/dev/null) ||
		grep -q '<not supported>' <<<"$out"; then
		PERF_MISSING="perf stat does not count task-clock here: $(grep -v '^[0-9.]*,' <<<"$out" | head -n 1)"
		return 0
	fi
	PERF_EVENTS=task-clock,context-switches,cpu-migrations,duration_time
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

# exit_reasons DIR: runs CMD (a VM cell) once more under perf kvm stat record (system-wide), after the timed
# repetitions and outside them: tracing every exit slows the configurations that exit more than those that
# do not, so it never runs while a cell is timed. Keeps the report of exits by reason as DIR/perf-kvm.txt.
exit_reasons() {
	local dir=$1
	(cd "$ROOT" && perf kvm stat record -a -o "$dir/perf-kvm.data" -- "${CMD[@]}") >"$dir/stdout.log" 2>"$dir/stderr.log" \
		</dev/null || echo "rc=$?" >>"$dir/stderr.log"
	perf kvm -i "$dir/perf-kvm.data" stat report --event=vmexit >"$dir/perf-kvm.txt" 2>>"$dir/stderr.log" || true
	rm -f "$dir/perf-kvm.data"
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
	jq -n --arg run "$(basename "$OUT")" --arg study "$STUDY_NAME" --arg commit "$(git_commit)" \
		--argjson dirty "$(git_dirty)" --arg date "$(date -Iseconds)" --arg host "$(hostname)" \
		--arg cpu "$(cpu_model)" --argjson cores "$(nproc)" --arg kernel "$(uname -r)" --arg tsc "$TSC_KHZ" \
		--arg fio "$(tool_version "$FIO" --version)" --arg qemu "$(tool_version "$QEMU" --version)" \
		--arg gcc "$(tool_version gcc --version)" --arg perf "$(tool_version perf --version)" \
		--arg disk "$DISK" --arg disk_kind "$DISK_KIND" --argjson disk_bytes "$DISK_BYTES" \
		--argjson rw_device "$RW_DEVICE" --arg perf_events "$PERF_EVENTS" --argjson kvm_stat "$KVM_STAT" \
		--arg drop "${STUDY[drop_caches]}" --argjson reps "${STUDY[reps]}" --arg runtime "${STUDY[runtime]:-}" \
		--arg ramp "${STUDY[ramp_time]:-}" --arg shuffle "${STUDY[shuffle]}" --arg seed "$SHUFFLE_SEED" --arg busy "${BUSY_PCT:-}" \
		--argjson memory "$(host_memory_json)" --arg perf_missing "$PERF_MISSING" --argjson reasons "$EXIT_REASONS" \
		--argjson settings "$(host_facts_json)" --argjson disk_facts "$(disk_facts_json "$DISK")" \
		--argjson platform "$(platform_json)" \
		--rawfile pins <(meta_pinning) --rawfile cmds <(meta_commands) '
	def lines: split("\n") | map(select(length > 0) | split("\t"));
	{format: 1, run: $run, study: $study, git: {commit: $commit, dirty: $dirty}, date: $date,
	 host: {name: $host, cpu_model: $cpu, cores: $cores, kernel: $kernel, kvm_flavor: ($platform.kvm_flavor // "unknown"),
	        posted_interrupts: ($platform.posted_interrupts // null), tsc_khz: (if $tsc == "" then null else ($tsc | tonumber) end),
	        emulated: ($platform.emulated // false), hypervisor: ($platform.host_hypervisor // null)},
	 versions: {fio: $fio, qemu: $qemu, gcc: $gcc, perf: $perf},
	 host_settings: ($settings + {busy_pct: (if $busy == "" then null else ($busy | tonumber) end)}),
	 disk: ({path: $disk, kind: $disk_kind, bytes: $disk_bytes, rw_device: ($rw_device == 1)} + $disk_facts),
	 study_settings: {reps: $reps, runtime: $runtime, ramp_time: $ramp, drop_caches: $drop, shuffle: $shuffle,
	                 shuffle_seed: (if $seed == "" then null else ($seed | tonumber) end)},
	 perf: {stat_events: $perf_events, missing: (if $perf_missing == "" then null else $perf_missing end),
	        kvm_stat: ($kvm_stat == 1), exit_reasons_pass: ($reasons == 1)},
	 host_memory: $memory,
	 pinning: ($pins | lines | map({(.[0]): .[1]}) | add // {}),
	 commands: ($cmds | lines | map({cell: .[0], rep: (.[1] | tonumber), cmd: .[2]}))}'
}

# ---- host knobs a study needs (the hugepage pool, THP for shmem), restored when the run ends -----------

HOST_SETUP=""         # "knob<TAB>before<TAB>asked<TAB>got" lines, for meta.json
HUGEPAGES_POLICY=""   # how the pool was chosen: study, default or opted out
RESTORE_HUGEPAGES=""
RESTORE_THP_SHMEM=""
THP_SHMEM=/sys/kernel/mm/transparent_hugepage/shmem_enabled
HUGEPAGES_DIR=${EXITLESS_HUGEPAGES_DIR:-/sys/kernel/mm/hugepages/hugepages-2048kB}

# thp_value FILE: the bracketed (current) word of a transparent_hugepage knob.
thp_value() {
	sed -n 's/.*\[\([a-z_]*\)\].*/\1/p' "$1" 2>/dev/null
}

# hugepages_wanted: the free 2 MiB pages the study's cells need at once. A study's
# own "hugepages = N" wins (0 opts out); by default, the guest RAM of the largest VM (build/vmm, or QEMU with
# qemu_mem = hugetlb: one cell runs at a time) plus 32 pages (64 MiB) for fio's buffers on hugepages
# (bare-best's mem=shmhuge: iodepth x block size, 32 MiB at 1 MiB x 32).
hugepages_wanted() {
	local c mem max=0 fio=0
	if [ -n "${STUDY[hugepages]:-}" ]; then
		echo "${STUDY[hugepages]}"
		return
	fi
	for c in "${CONFIGS[@]}"; do
		case "${CONF[$c.kind]}" in
		vmm) mem=$(conf "$c" mem 256) ;;
		qemu) mem=0; [ "$(conf "$c" qemu_mem default)" != hugetlb ] || mem=$(conf "$c" mem 256) ;;
		bare) mem=0; [[ " ${CONF[$c.fio_options]:-} " != *" mem=shmhuge "* ]] || fio=32 ;;
		esac
		[ "$mem" -le "$max" ] || max=$mem
	done
	echo $(((max + 1) / 2 + (max > 0 || fio > 0 ? 32 : 0)))
}

# hugepages_reserve N: grows the pool until N pages are free (never shrinks it: pages in use stay); warns
# when the host gives fewer (not root, or memory too fragmented).
hugepages_reserve() {
	local want=$1 before free target got
	before=$(cat "$HUGEPAGES_DIR/nr_hugepages" 2>/dev/null || echo 0)
	free=$(cat "$HUGEPAGES_DIR/free_hugepages" 2>/dev/null || echo 0)
	target=$((before + (want > free ? want - free : 0)))
	[ "$target" -eq "$before" ] || { echo "$target" >"$HUGEPAGES_DIR/nr_hugepages"; } 2>/dev/null || true
	got=$(cat "$HUGEPAGES_DIR/nr_hugepages" 2>/dev/null || echo 0)
	got=$((free + got - before))
	[ "$got" -ge "$want" ] || warn "only $got of the $want free 2 MiB hugepages this study needs could be reserved (needs root, or memory is fragmented): guest RAM may end up on 4 KiB pages (stats.json says where it is)"
	RESTORE_HUGEPAGES=$before
	HOST_SETUP+="hugepages"$'\t'"$before"$'\t'"$want"$'\t'"$got"$'\n'
}

# host_setup: the hugepage pool the study needs (hugepages_wanted) and shmem's THP mode when the study sets
# thp_shmem; warns when the host refuses (not root); host_restore puts both back.
host_setup() {
	local want before got
	want=$(hugepages_wanted)
	HUGEPAGES_POLICY="default (guest RAM of the largest VM + fio's buffers)"
	if [ -n "${STUDY[hugepages]:-}" ]; then HUGEPAGES_POLICY="study (hugepages = $want)"; fi
	if [ "$want" -eq 0 ]; then
		HUGEPAGES_POLICY="none needed (no VM, no fio buffers on hugepages)"
		[ -z "${STUDY[hugepages]:-}" ] || HUGEPAGES_POLICY="opted out (hugepages = 0)"
	fi
	[ "$want" -eq 0 ] || hugepages_reserve "$want"
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
	[ -z "$RESTORE_HUGEPAGES" ] || { echo "$RESTORE_HUGEPAGES" >"$HUGEPAGES_DIR/nr_hugepages"; } 2>/dev/null || true
	[ -z "$RESTORE_THP_SHMEM" ] || { echo "$RESTORE_THP_SHMEM" >"$THP_SHMEM"; } 2>/dev/null || true
	RESTORE_HUGEPAGES="" RESTORE_THP_SHMEM=""
}

# host_memory_json: the memory knobs in force (after host_setup), the hugepage policy and what host_setup
# changed (hugepages: "got" counts the free pages after the change).
host_memory_json() {
	jq -n --arg thp "$(thp_value /sys/kernel/mm/transparent_hugepage/enabled)" --arg shmem "$(thp_value "$THP_SHMEM")" \
		--argjson huge "$(cat "$HUGEPAGES_DIR/nr_hugepages" 2>/dev/null || echo null)" \
		--argjson free "$(cat "$HUGEPAGES_DIR/free_hugepages" 2>/dev/null || echo null)" \
		--arg policy "$HUGEPAGES_POLICY" --arg setup "$HOST_SETUP" '
	{thp_enabled: $thp, thp_shmem_enabled: $shmem, nr_hugepages: $huge, free_hugepages: $free,
	 hugepages_policy: (if $policy == "" then null else $policy end),
	 changed: ($setup | split("\n") | map(select(length > 0) | split("\t") |
		{(.[0]): {before: .[1], asked: .[2], got: .[3]}}) | add // {})}'
}
