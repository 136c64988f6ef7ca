# experiments/lib/facts.sh - the settings of the host that move the numbers, for meta.json, and the warning
# shellcheck shell=bash disable=SC2034 # sourced: BUSY_PCT is read by host.sh
# before a study on a busy machine. Every fact is read, never set; a fact the host does not expose is null.
# EXITLESS_SYSFS and EXITLESS_PROC (default /sys and /proc) let the tests give a made-up host.

# sys_word FILE: the first line of FILE, the bracketed word when it has one ("none [mq-deadline]"); nothing
# when FILE is missing.
sys_word() {
	local v
	v=$(head -n 1 "$1" 2>/dev/null) || return 0
	if [[ "$v" =~ \[([^]]*)\] ]]; then echo "${BASH_REMATCH[1]}"; else echo "$v"; fi
}

# cpu_boost: on/off from the cpufreq boost switch or intel_pstate's no_turbo, else nothing.
cpu_boost() {
	local sys=${EXITLESS_SYSFS:-/sys}/devices/system/cpu v
	v=$(sys_word "$sys/cpufreq/boost")
	[ -z "$v" ] || { [ "$v" = 1 ] && echo on || echo off; return; }
	v=$(sys_word "$sys/intel_pstate/no_turbo")
	[ -z "$v" ] || { [ "$v" = 0 ] && echo on || echo off; }
}

# block_name PATH: the whole-disk block device (vda, nvme0n1) holding PATH (a block device or a file on one).
block_name() {
	local sys=${EXITLESS_SYSFS:-/sys} dev name
	if [ -b "$1" ]; then dev=$1; else dev=$(df --output=source "$1" 2>/dev/null | tail -n 1); fi
	name=$(basename "$(readlink -f "$dev" 2>/dev/null)")
	[ -e "$sys/class/block/$name/partition" ] && name=$(basename "$(readlink -f "$sys/class/block/$name/..")")
	echo "$name"
}

# disk_facts_json PATH: the disk under PATH: device, model (the driver's name when the disk reports none, as a
# virtio disk), file system, I/O scheduler, rotational.
disk_facts_json() {
	local sys=${EXITLESS_SYSFS:-/sys} name model fs="" drv
	name=$(block_name "$1")
	model=$(sys_word "$sys/block/$name/device/model")
	drv=$(readlink -f "$sys/block/$name/device/driver" 2>/dev/null || true)
	[ -n "$model" ] || [ -z "$drv" ] || model="${drv##*/} (no model)"
	[ -b "$1" ] || fs=$(stat -f -c %T "$1" 2>/dev/null || true)
	jq -n --arg dev "$name" --arg model "$model" --arg fs "$fs" \
		--arg sched "$(sys_word "$sys/block/$name/queue/scheduler")" \
		--arg rot "$(sys_word "$sys/block/$name/queue/rotational")" '
	def orNull: if . == "" then null else . end;
	{device: ($dev | orNull), model: ($model | orNull), file_system: ($fs | orNull),
	 scheduler: ($sched | orNull), rotational: (if $rot == "" then null else $rot == "1" end)}'
}

# host_facts_json: CPU frequency governor and boost, SMT, the CPU vulnerabilities and their mitigations, the
# kernel command line, KVM's halt_poll_ns, the load average when the study started.
host_facts_json() {
	local sys=${EXITLESS_SYSFS:-/sys} proc=${EXITLESS_PROC:-/proc} f vulns=""
	for f in "$sys"/devices/system/cpu/vulnerabilities/*; do
		[ -f "$f" ] && vulns+="${f##*/}"$'\t'"$(sys_word "$f")"$'\n'
	done
	jq -n --arg gov "$(sys_word "$sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")" --arg boost "$(cpu_boost)" \
		--arg smt_active "$(sys_word "$sys/devices/system/cpu/smt/active")" \
		--arg smt_control "$(sys_word "$sys/devices/system/cpu/smt/control")" --arg vulns "$vulns" \
		--arg cmdline "$(sys_word "$proc/cmdline")" --arg halt "$(sys_word "$sys/module/kvm/parameters/halt_poll_ns")" \
		--arg load "$(sys_word "$proc/loadavg")" '
	def orNull: if . == "" then null else . end;
	{cpu_governor: ($gov | orNull), cpu_boost: ($boost | orNull),
	 smt: {active: (if $smt_active == "" then null else $smt_active == "1" end), control: ($smt_control | orNull)},
	 vulnerabilities: ($vulns | split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add // null),
	 kernel_cmdline: ($cmdline | orNull),
	 kvm_halt_poll_ns: (if $halt == "" then null else ($halt | tonumber) end),
	 load_average: (if $load == "" then null else ($load | split(" ") | .[0:3] | map(tonumber)) end)}'
}

# cpu_busy_pct STAT1 STAT2: the share of the machine's CPU time (%) spent on anything but idling between two
# snapshots of /proc/stat ("cpu" line: user nice system idle iowait irq softirq steal ...); steal counts as
# busy (the host ran something else on our CPU).
cpu_busy_pct() {
	awk '$1 == "cpu" { n++; for (i = 2; i <= 9; i++) t[n] += $i; idle[n] = $5 + $6 }
	END { d = t[2] - t[1]; if (n != 2 || d <= 0) exit 1; printf "%.0f\n", 100 * (d - (idle[2] - idle[1])) / d }' "$1" "$2"
}

# busy_warning: one warning when the machine is busy as a study starts: over one second, 20 % or more of its
# CPU time went to other processes (they take time from polling threads and from fio alike, and not evenly).
# The load average is quoted but not the test: it lags by a minute, so a build just before the study (make
# reproduce builds first) would raise it. meta.json records both.
busy_warning() {
	local proc=${EXITLESS_PROC:-/proc} a b pct
	a=$(cat "$proc/stat" 2>/dev/null) || return 0
	sleep "${EXITLESS_BUSY_SECS:-1}"
	b=$(cat "$proc/stat" 2>/dev/null) || return 0
	pct=$(cpu_busy_pct <(echo "$a") <(echo "$b")) || return 0
	BUSY_PCT=$pct
	[ "$pct" -ge 20 ] || return 0
	warn "the machine is busy: $pct % of its CPU time went to other processes in the last second (load average $(cut -d' ' -f1-3 "$proc/loadavg" 2>/dev/null)); the cells will be noisier (meta.json records it)"
}
