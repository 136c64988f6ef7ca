# experiments/lib/hosts.sh - the hosts a run's cells ran on: one facts file per host (hosts/HOST.json, written
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# by every runner invocation), the kind of each host (CPU model, cores, KVM flavor, emulated or not: hosts of
# one kind give comparable figures), each repetition's host, and the merged meta.json of a run made in slices
# (tasks/K/, by Slurm or GNU parallel: docs/cluster.md). Sourced by experiments/run and experiments/collect.

# hosts_record OUT: OUT/hosts/HOST.json, the facts of this host, unless already there.
hosts_record() {
	local f
	f=$1/hosts/$(hostname -s).json
	[ -f "$f" ] && return 0
	mkdir -p "$1/hosts"
	jq -n --arg name "$(hostname -s)" --arg cpu "$(cpu_model)" --argjson cores "$(nproc)" --arg kernel "$(uname -r)" \
		--argjson platform "$(platform_json)" '
	{format: 1, name: $name, cpu_model: $cpu, cores: $cores, kernel: $kernel, kvm_flavor: ($platform.kvm_flavor // "unknown"),
	 posted_interrupts: ($platform.posted_interrupts // null), emulated: ($platform.emulated // false)}' >"$f.$$"
	mv -f "$f.$$" "$f"
}

# hosts_kinds RUN: "host<TAB>kind" for every host with a facts file in the run (RUN/hosts, RUN/tasks/*/hosts).
hosts_kinds() {
	local files=()
	mapfile -t files < <(find "$1" -path '*/hosts/*.json' -not -path '*/cells/*' 2>/dev/null | sort)
	[ "${#files[@]}" -gt 0 ] || return 0
	jq -r '[.name, "\(.cpu_model) | \(.cores) cores | \(.kvm_flavor)\(if .emulated then " emulated" else "" end)"] | @tsv' "${files[@]}" |
		sort -u
}

# hosts_map RUN REPDIRS: "cell<TAB>rep<TAB>host<TAB>kind" for every repetition of REPDIRS (lines "dir, cell,
# rep, status" as collect's rep_dirs prints them); a host without a facts file is a kind of its own.
hosts_map() {
	awk -F'\t' -v kinds="$(hosts_kinds "$1")" '
	BEGIN { n = split(kinds, l, "\n"); for (i = 1; i <= n; i++) if (split(l[i], f, "\t") == 2) kind[f[1]] = f[2] }
	{
		h = ""
		if ((getline line < ($1 "/status")) > 0 && match(line, / host=[^ ]*/)) h = substr(line, RSTART + 6, RLENGTH - 6)
		close($1 "/status")
		printf "%s\t%s\t%s\t%s\n", $2, $3, h, (h in kind) ? kind[h] : "host " h
	}' <<<"$2"
}

# hosts_meta RUN: the meta.json of a run made in slices (RUN/tasks/K/meta.json, one per task, each written on
# the host that ran it): the first task's, with every task's commands, `hosts` (each task's host) and, when the
# tasks ran on hosts of more than one kind, a host entry that says so.
hosts_meta() {
	local files=()
	mapfile -t files < <(find "$1/tasks" -mindepth 2 -maxdepth 2 -name meta.json | sort -V)
	[ "${#files[@]}" -gt 0 ] || return 1
	jq -s --arg run "$(basename "$1")" '
	def kind: "\(.cpu_model) | \(.cores) cores | \(.kvm_flavor)";
	(map(.host | kind) | group_by(.) | map("\(.[0]) (\(length) tasks)")) as $kinds |
	.[0] + {run: $run, commands: (map(.commands) | add),
	 hosts: map({task: (.run), host: .host}),
	 host: (if ($kinds | length) == 1 then .[0].host
	        else .[0].host + {cpu_model: ("hosts of \($kinds | length) kinds: " + ($kinds | join("; ")))} end)}' "${files[@]}"
}
