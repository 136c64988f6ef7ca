# experiments/lib/vocab.sh - the switches and modes of build/vmm as it publishes them (build/vmm --switches),
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# read once: the kit checks studies against them, enumerates them and passes them on, and never copies them.
# A mode or a switch added to the VMM's switch table (vmm/options.c) is known to the kit with no edit here.

SWITCHES=""      # build/vmm --switches (JSON), read by switches_load
SWITCH_FLAGS=()  # every switch's flag (request emulation completion transport hlt-exits ...), in the VMM's order

# switches_load: reads build/vmm --switches once into SWITCHES and SWITCH_FLAGS; exit 2 with one line when
# build/vmm is missing or gives no switch table. Call it in the main shell (not inside $(...)) so it stays read.
switches_load() {
	local v
	[ -z "$SWITCHES" ] || return 0
	v=$(vmm_path)
	[ -x "$v" ] || die "${EXITLESS_VMM:-build/vmm} is missing: run make"
	SWITCHES=$("$v" --switches 2>/dev/null) || SWITCHES=""
	jq -e '.switches | length > 0' <<<"$SWITCHES" >/dev/null 2>&1 ||
		die "$v --switches gave no switch table: run make (the kit takes its switches and modes from it)"
	mapfile -t SWITCH_FLAGS < <(jq -r '.switches[].flag' <<<"$SWITCHES")
}

# switch_modes FLAG: the modes of the switch FLAG, space-separated, in the VMM's order.
switch_modes() {
	jq -r --arg f "$1" '[.switches[] | select(.flag == $f) | .modes[].name] | join(" ")' <<<"$SWITCHES"
}

# switch_key FLAG: the study key of a switch (the flag with "_" for "-": hlt-exits is hlt_exits).
switch_key() {
	echo "${1//-/_}"
}

# switch_vocab: what the study parser checks values against, "KEY=MODE MODE...;..." for every switch and for
# backend (the disk backends).
switch_vocab() {
	jq -r '[(.switches[] | "\(.flag | gsub("-"; "_"))=\([.modes[].name] | join(" "))"),
	        "backend=\(.backends | join(" "))"] | join(";")' <<<"$SWITCHES"
}

# switch_modes_own FLAG: the modes of FLAG that are themselves, not a choice made for you (--emulation auto
# resolves to another mode in build/vmm --dry-run): the modes a table of every combination runs.
switch_modes_own() {
	local m own=()
	for m in $(switch_modes "$1"); do
		[ "$("$(vmm_path)" --dry-run "--$1" "$m" /dev/null | jq -r --arg k "$(switch_key "$1")" '.[$k]')" != "$m" ] ||
			own+=("$m")
	done
	echo "${own[*]}"
}

# words_or "A B C": "A, B or C".
words_or() {
	local w=() all
	read -r -a w <<<"$1"
	all="${w[*]}"
	[ "${#w[@]}" -le 1 ] || all="${w[*]:0:${#w[@]}-1}"
	all=${all// /, }
	[ "${#w[@]}" -le 1 ] || all+=" or ${w[-1]}"
	echo "$all"
}
