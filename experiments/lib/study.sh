# experiments/lib/study.sh - reads study matrices (INI) and the shared configurations, plans the cells.
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# A study is experiments/studies/NAME.ini: one [study] section and optional [config NAME] sections that add
# to or override experiments/configs.ini key by key. The format is described in experiments/README.md.

STUDY_KEYS="description reps image_size drop_caches runtime ramp_time jobs configs shuffle pin mem timeout backend hugepages thp_shmem cpus guest guest_cmdline"
# the configuration keys of the kit's own; every switch of build/vmm --switches is one too (request, emulation,
# completion, transport, hlt_exits, ...: ini_parse adds them)
CONFIG_KEYS="kind label colour poll_us pin backend mem mem_backing cpus queues contexts qemu qemu_mem qemu_drive guest guest_cmdline vmm_args fio_options"

declare -A STUDY=()  # study key -> value
declare -A CONF=()   # "config.key" -> value
CONFIG_NAMES=()      # every configuration defined, in file order
JOBS=()              # job names of the study, expanded, in order
CONFIGS=()           # configuration names of the study, in order

# ini_parse FILE [NEED_STUDY]: prints "kind name key value file:line" (fields separated by \x1f) per setting;
# a line that is neither a comment, a section header nor a valid "key = value" is one error naming file and line
# (exit 2). The switches and backends come from build/vmm --switches (switches_load first): each switch is a
# configuration key whose values are its modes.
ini_parse() {
	awk -v file="$1" -v need="${2:-0}" -v skeys="$STUDY_KEYS" -v ckeys="$CONFIG_KEYS" -v prog="${PROG:-experiments}" \
		-v vocab="$(switch_vocab)" '
	function fail(msg) { printf "%s: %s:%d: %s\n", prog, file, FNR, msg > "/dev/stderr"; bad = 1; exit 2 }
	# words_or(list): "a b c" as "a, b or c"
	function words_or(l,   w, n, i, s) { n = split(l, w, " "); s = w[1]; for (i = 2; i <= n; i++) s = s (i < n ? ", " : " or ") w[i]; return s }
	BEGIN {
		n = split(vocab, a, ";")
		for (i = 1; i <= n; i++) {
			k = substr(a[i], 1, index(a[i], "=") - 1); l = substr(a[i], index(a[i], "=") + 1)
			m = split(l, w, " "); for (j = 1; j <= m; j++) mode[k, w[j]] = 1
			vk[k] = 1; what[k] = words_or(l) " (build/vmm --switches)"
			if (k != "backend") ckeys = ckeys " " k
		}
		n = split(skeys, a, " "); for (i = 1; i <= n; i++) sk[a[i]] = 1
		n = split(ckeys, a, " "); for (i = 1; i <= n; i++) ck[a[i]] = 1
		# what each key accepts: a regular expression and the words for the error message
		re["reps"] = "^[1-9][0-9]*$"; what["reps"] = "a positive integer"
		re["runtime"] = "^[1-9][0-9]*$"; what["runtime"] = "seconds (a positive integer)"
		re["ramp_time"] = "^[0-9]+$"; what["ramp_time"] = "seconds (an integer)"
		re["timeout"] = "^[1-9][0-9]*$"; what["timeout"] = "seconds (a positive integer)"
		re["mem"] = "^[1-9][0-9]*$"; what["mem"] = "MiB (a positive integer)"
		re["poll_us"] = "^([0-9]+|adaptive(:[0-9]+)?)$"; what["poll_us"] = "microseconds (an integer), adaptive or adaptive:MAX"
		re["image_size"] = "^[0-9]+[kKmMgGtT]?$"; what["image_size"] = "a size such as 1G or 512M"
		re["drop_caches"] = "^(yes|no)$"; what["drop_caches"] = "yes or no"
		re["shuffle"] = "^(no|yes|[0-9]+)$"; what["shuffle"] = "no, yes or a seed"
		re["kind"] = "^(vmm|bare|qemu)$"; what["kind"] = "vmm, bare or qemu"
		re["qemu"] = "^(default|iothread|iothread-uring)$"; what["qemu"] = "default, iothread or iothread-uring"
		re["qemu_mem"] = "^(default|hugetlb)$"; what["qemu_mem"] = "default (anonymous RAM, THP by madvise) or hugetlb"
		re["qemu_drive"] = "^(file|null)$"; what["qemu_drive"] = "file (the image) or null (the null-co driver)"
		re["mem_backing"] = "^(auto|hugetlb|thp|4k)$"; what["mem_backing"] = "auto, hugetlb, thp or 4k"
		re["cpus"] = "^([1-9]|1[0-6])$"; what["cpus"] = "vCPUs (1-16)"
		re["queues"] = "^([1-9]|1[0-6])$"; what["queues"] = "queues per disk (1-16)"
		re["contexts"] = "^(device|queue)$"; what["contexts"] = "device or queue"
		re["hugepages"] = "^[0-9]+$"; what["hugepages"] = "a count of 2 MiB pages"
		re["thp_shmem"] = "^(always|within_size|advise|never|deny|force)$"; what["thp_shmem"] = "a transparent_hugepage/shmem_enabled value"
		re["fio_options"] = "^[A-Za-z0-9_=.,: -]*$"; what["fio_options"] = "fio job options key=value, space-separated"
		re["pin"] = "^(vcpu|iocore|dev)=[0-9:-]+(,(vcpu|iocore|dev)=[0-9:-]+)*$"; what["pin"] = "vcpu=L,iocore=C,dev=L (L: C, A-B or A:B)"
		re["jobs"] = "^[A-Za-z0-9_.,{}+ -]+$"; what["jobs"] = "job names (letters, digits, - _ . + and {a,b} lists)"
		re["configs"] = "^[A-Za-z0-9_.+ -]+$"; what["configs"] = "configuration names"
		re["label"] = "^[^\"]+$"; what["label"] = "text without double quotes"
		re["colour"] = "^#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$"; what["colour"] = "an RGB colour such as #D55E00"
		re["guest"] = "^(tiny|linux)$"; what["guest"] = "tiny (build/guest.elf) or linux (make linux-guest: the stock kernel and fio)"
		re["guest_cmdline"] = "^[^\"]*$"; what["guest_cmdline"] = "text without double quotes"
		re["vmm_args"] = "^[A-Za-z0-9_.,=/ -]*$"; what["vmm_args"] = "plain VMM options"
	}
	{ sub(/\r$/, "") }
	/^[ \t]*([#;].*)?$/ { next }
	/^[ \t]*\[/ {
		line = $0; gsub(/^[ \t]*\[[ \t]*|[ \t]*\][ \t]*$/, "", line)
		if ($0 !~ /\][ \t]*$/) fail("section header without a closing ]: " $0)
		if (line == "study") { kind = "study"; name = ""; seen_study = 1; next }
		if (line ~ /^config[ \t]+[A-Za-z0-9_.+-]+$/) { kind = "config"; name = line; sub(/^config[ \t]+/, "", name); next }
		fail("unknown section [" line "]: expected [study] or [config NAME]")
	}
	{
		if (index($0, "=") == 0) fail("expected \"key = value\", got: " $0)
		key = substr($0, 1, index($0, "=") - 1); val = substr($0, index($0, "=") + 1)
		gsub(/^[ \t]+|[ \t]+$/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", val)
		sub(/[ \t]+#.*$/, "", val)
		if (kind == "") fail("\"" key "\" outside a section: put it under [study] or [config NAME]")
		if (kind == "study" && !(key in sk)) fail("unknown study key \"" key "\" (known: " skeys ")")
		if (kind == "config" && !(key in ck)) fail("unknown config key \"" key "\" (known: " ckeys ")")
		if (val == "" && key != "guest_cmdline" && key != "vmm_args" && key != "fio_options") fail("\"" key "\" has no value")
		if ((key in re) && val !~ re[key]) fail(key " = " val ": expected " what[key])
		if ((key in vk) && !((key, val) in mode)) fail(key " = " val ": expected " what[key])
		printf "%s\037%s\037%s\037%s\037%s:%d\n", kind, name, key, val, file, FNR
	}
	END { if (!bad && need && !seen_study) { printf "%s: %s: no [study] section\n", prog, file > "/dev/stderr"; exit 2 } }
	' "$1"
}

# study_file NAME: the path of a study given by name (experiments/studies/NAME.ini) or by path.
study_file() {
	local name=$1 f list s
	if [[ "$name" == */* || "$name" == *.ini ]]; then
		[ -f "$name" ] || die "no study file $name"
		echo "$name"
		return
	fi
	f=$ROOT/experiments/studies/$name.ini
	if [ ! -f "$f" ]; then
		list=$(for s in "$ROOT"/experiments/studies/*.ini; do basename "$s" .ini; done | tr "\n" " ")
		die "no study \"$name\" (experiments/studies/$name.ini); studies: ${list% }"
	fi
	echo "$f"
}

# study_load STUDYFILE CONFIGSFILE: fills STUDY, CONF, CONFIG_NAMES, JOBS, CONFIGS; exits 2 on any error.
study_load() {
	local sfile=$1 cfile=$2 f parsed kind name key val where need
	STUDY=() CONF=() CONFIG_NAMES=()
	switches_load
	for f in "$cfile" "$sfile"; do
		need=0
		[ "$f" = "$sfile" ] && need=1
		parsed=$(ini_parse "$f" "$need") || exit 2
		while IFS=$'\x1f' read -r kind name key val where; do
			[ -n "$kind" ] || continue
			if [ "$kind" = study ]; then
				[ "$f" = "$sfile" ] || die "$where: [study] belongs in a study file, not in $(basename "$cfile")"
				STUDY[$key]=$val
			else
				[ -n "${CONF[$name.defined]:-}" ] || CONFIG_NAMES+=("$name")
				CONF[$name.defined]=1
				CONF[$name.$key]=$val
			fi
		done <<<"$parsed"
	done
	study_defaults "$sfile"
	study_expand "$sfile"
}

# study_defaults: the values a study gets for keys it does not set.
study_defaults() {
	: "${STUDY[reps]:=3}" "${STUDY[image_size]:=1G}" "${STUDY[drop_caches]:=no}" "${STUDY[shuffle]:=yes}"
	: "${STUDY[mem]:=256}" "${STUDY[backend]:=uring}" "${STUDY[description]:=}"
	[ -n "${STUDY[jobs]:-}" ] || die "$1: the [study] section needs \"jobs = ...\""
	[ -n "${STUDY[configs]:-}" ] || die "$1: the [study] section needs \"configs = ...\""
}

# study_expand STUDYFILE: expands the job list ({a,b} lists allowed) and checks every configuration exists.
study_expand() {
	local c
	# safe: ini_parse allowed only letters, digits, "-_.,+{} " in jobs, so eval does brace expansion only
	eval "JOBS=(${STUDY[jobs]})"
	read -r -a CONFIGS <<<"${STUDY[configs]}"
	for c in "${CONFIGS[@]}"; do
		[ -n "${CONF[$c.defined]:-}" ] ||
			die "$1: configuration \"$c\" is not defined (add [config $c] to the study or to experiments/configs.ini)"
		: "${CONF[$c.kind]:=vmm}"
	done
}

# job_file JOB: the job file of a job name, in $JOBS_DIR (default workloads/jobs).
job_file() {
	echo "$JOBS_DIR/$1.fio"
}

# study_check_jobs: every job of the study has a job file (exit 2 naming the first missing one).
study_check_jobs() {
	local j
	for j in "${JOBS[@]}"; do
		[ -f "$(job_file "$j")" ] || die "job \"$j\" has no job file $(job_file "$j") (see workloads/jobs/)"
	done
}

# job_attr FILE KEY DEFAULT: the last value of KEY in a fio job file (sections merged), else DEFAULT.
job_attr() {
	awk -v k="$2" -v d="$3" '
	{ sub(/\r$/, ""); sub(/[ \t]*[#;].*$/, "") }
	index($0, "=") {
		key = substr($0, 1, index($0, "=") - 1); val = substr($0, index($0, "=") + 1)
		gsub(/^[ \t]+|[ \t]+$/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", val)
		if (key == k) d = val
	}
	END { print d }' "$1"
}

# cell_name CONFIG JOB: the name of a cell, also its folder under cells/.
cell_name() {
	echo "$1/$2"
}

# study_cells: prints "cell<TAB>config<TAB>job" for every cell, job-major (all configurations of a job together).
study_cells() {
	local j c
	for j in "${JOBS[@]}"; do
		for c in "${CONFIGS[@]}"; do
			printf '%s\t%s\t%s\n' "$(cell_name "$c" "$j")" "$c" "$j"
		done
	done
}
