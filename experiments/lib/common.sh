# experiments/lib/common.sh - shared helpers of the experiment kit: errors, sizes, host facts.
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# Sourced by experiments/run, collect, summarize and ci/perf-gate; defines functions only.

# die MSG...: one clear line on stderr, exit status 2 (a user error: bad study, bad option, missing file).
die() {
	echo "${PROG:-experiments}: $*" >&2
	exit 2
}

# warn MSG...: a warning on stderr; the run goes on.
warn() {
	echo "${PROG:-experiments}: warning: $*" >&2
}

# size_bytes SIZE: prints SIZE (1G, 512M, 4096, 64k) in bytes; fails on anything else.
size_bytes() {
	local s=${1^^}
	s=${s%B}
	s=${s%I}
	[[ "$s" =~ ^[0-9]+[KMGT]?$ ]] || return 1
	numfmt --from=iec "$s"
}

# vmm_path: the VMM the kit runs and asks ($EXITLESS_VMM, default build/vmm), as an absolute path.
vmm_path() {
	local v=${EXITLESS_VMM:-build/vmm}
	[[ "$v" == /* ]] || v=$ROOT/$v
	echo "$v"
}

# platform_json: what build/vmm --platform says of this host (KVM flavor, emulated or not, the hypervisor it
# runs under, posted interrupts), or null when build/vmm is not built. The kit's host facts come from here
# only, so a run's meta.json and the VMM's stats can never disagree.
platform_json() {
	local out
	out=$("$(vmm_path)" --platform 2>/dev/null) || out=null
	jq -c . <<<"$out" 2>/dev/null || echo null
}

# kvm_flavor: pvm, vmx or svm as build/vmm --platform says; "unknown" when it cannot tell or is not built.
kvm_flavor() {
	jq -r '.kvm_flavor // "unknown"' <<<"$(platform_json)"
}

# host_tsc_khz: the host TSC frequency in kHz from sysfs, else from the kernel log; empty when unknown
# (the guest then calibrates on its own).
host_tsc_khz() {
	local f=/sys/devices/system/cpu/cpu0/tsc_freq_khz line mhz
	if [ -r "$f" ]; then
		cat "$f"
		return
	fi
	line=$(dmesg 2>/dev/null | grep -E 'tsc: Refined TSC clocksource calibration: ' | tail -n 1 || true)
	[ -n "$line" ] || line=$(dmesg 2>/dev/null | grep -E 'tsc: Detected [0-9.]+ MHz' | tail -n 1 || true)
	mhz=$(sed -nE 's/.*(calibration: |Detected )([0-9.]+) MHz.*/\2/p' <<<"$line")
	[ -n "$mhz" ] && awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 + 0.5 }'
	return 0
}

# cpu_model: the CPU model name of the host.
cpu_model() {
	sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1
}

# tool_version CMD ARGS...: the first line of a tool's version output, or "missing".
tool_version() {
	command -v "$1" >/dev/null 2>&1 || { echo missing; return; }
	"$@" 2>&1 | head -n 1 || true
}

# git_commit: the commit of the working tree, "none" before the first commit.
git_commit() {
	git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo none
}

# git_short: the abbreviated commit for run ids.
git_short() {
	git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null || echo nocommit
}

# git_dirty: true when the working tree has changes against HEAD.
git_dirty() {
	if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)" ]; then echo true; else echo false; fi
}

# fmt_secs SECONDS: h:mm:ss or m:ss.
fmt_secs() {
	local s=${1%.*}
	if [ "$s" -ge 3600 ]; then
		printf '%d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
	else
		printf '%d:%02d' $((s / 60)) $((s % 60))
	fi
}

# now_secs: seconds since the epoch with a fraction.
now_secs() {
	date +%s.%N
}

# shell_words ARGS...: the arguments as one shell command line, quoted only where needed (readable, and
# safe to paste back into a shell).
shell_words() {
	local a out=""
	for a in "$@"; do
		if [[ "$a" =~ ^[A-Za-z0-9_./:=,+@%^-]+$ ]]; then
			out+=" $a"
		else
			out+=" '${a//\'/\'\\\'\'}'"
		fi
	done
	echo "${out# }"
}

# run_emulated RUN: 1 when the run was made on an emulated platform (its meta.json says so), else 0.
run_emulated() {
	jq -r 'if .host.emulated == true then 1 else 0 end' "$1/meta.json" 2>/dev/null || echo 0
}
