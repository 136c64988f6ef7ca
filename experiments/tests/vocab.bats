#!/usr/bin/env bats
# experiments/tests/vocab.bats - the kit speaks build/vmm's vocabulary: the switches, modes and backends a study
# may name are those build/vmm --switches lists, every one reaches build/vmm as its flag, the QEMU cells give a
# guest the command line and queues build/vmm --dry-run says build/vmm would, and the host facts of a run are
# build/vmm --platform's. Each expectation is read from build/vmm here, never from the kit.
# shellcheck disable=SC2034 # the globals cell.sh reads (DISK_KIND, RW_DEVICE, ...)

load helpers

setup() {
	[ -x "$ROOT/build/vmm" ] || skip "build/vmm is not built"
	SW=$("$ROOT/build/vmm" --switches)
}

# or_list: a JSON array of words on stdin as "a, b or c".
or_list() {
	jq -r 'if length > 1 then (.[:-1] | join(", ")) + " or " + .[-1] else .[0] end'
}

# study TEXT...: a study file of the given lines after a [study] of one job; prints its path.
study() {
	printf '%s\n' '[study]' 'jobs = randread-4k-qd1' "$@" >"$BATS_TEST_TMPDIR/s.ini"
	echo "$BATS_TEST_TMPDIR/s.ini"
}

# the kit's libraries, sourced in this shell as experiments/run sources them
PROG=vocab
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$ROOT/experiments/lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/vocab.sh
. "$ROOT/experiments/lib/vocab.sh"
# shellcheck source=SCRIPTDIR/../lib/study.sh
. "$ROOT/experiments/lib/study.sh"
# shellcheck source=SCRIPTDIR/../lib/cell.sh
. "$ROOT/experiments/lib/cell.sh"

# kit STUDYFILE: the study loaded by the kit's libraries, with a made-up disk and Linux image, so that
# cell_command gives a cell's command line without running it.
kit() {
	declare -gA STUDY=() CONF=() # bats sources this file in a function: the libraries' declare -A went with it
	study_load "$1" "$ROOT/experiments/configs.ini"
	DISK=$BATS_TEST_TMPDIR/disk.img DISK_KIND=file DISK_BYTES=16777216 RW_DEVICE=0 OUT=$BATS_TEST_TMPDIR/out TSC_KHZ=2000000
	LINUX_KERNEL=$BATS_TEST_TMPDIR/vmlinux LINUX_INITRD=$BATS_TEST_TMPDIR/initramfs.cpio
	mkdir -p "$OUT/jobs"
	touch "$OUT/jobs/randread-4k-qd1.linux.cpio"
}

# arg_after CMD-ARRAY-NAME OPTION: the word after OPTION in the named array.
arg_after() {
	local -n a=$1
	local i
	for ((i = 0; i < ${#a[@]} - 1; i++)); do [ "${a[i]}" != "$2" ] || { echo "${a[i + 1]}"; return; }; done
	return 1
}

@test "a study naming a mode build/vmm does not list is refused with the modes build/vmm --switches lists" {
	local flag key want n=0
	for flag in $(jq -r '.switches[].flag' <<<"$SW"); do
		key=${flag//-/_}
		want=$(jq --arg f "$flag" '[.switches[] | select(.flag == $f) | .modes[].name]' <<<"$SW" | or_list)
		f=$(study 'configs = c' '[config c]' "$key = warp-drive")
		run "$ROOT/experiments/run" "$f" --list
		[ "$status" -eq 2 ]
		[ "$output" = "run: $f:5: $key = warp-drive: expected $want (build/vmm --switches)" ]
		n=$((n + 1))
	done
	[ "$n" -ge 4 ]
	f=$(study 'configs = full' 'backend = tape')
	run "$ROOT/experiments/run" "$f" --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: $f:4: backend = tape: expected $(jq '.backends' <<<"$SW" | or_list) (build/vmm --switches)" ]
}

@test "every mode of every switch build/vmm lists is accepted and reaches build/vmm as its flag" {
	local lines=() flag mode key i=0
	while read -r flag mode; do
		lines+=("[config m$i]" "${flag//-/_} = $mode")
		i=$((i + 1))
	done < <(jq -r '.switches[] | .flag as $f | .modes[] | "\($f) \(.name)"' <<<"$SW")
	kit "$(study "configs = $(seq -f 'm%g' -s ' ' 0 $((i - 1)))" "${lines[@]}")"
	i=0
	while read -r flag mode; do
		cell_command "m$i" randread-4k-qd1 "$BATS_TEST_TMPDIR/rep"
		[ "$(arg_after CMD "--$flag")" = "$mode" ] || { echo "m$i: ${CMD[*]}"; false; }
		i=$((i + 1))
	done < <(jq -r '.switches[] | .flag as $f | .modes[] | "\($f) \(.name)"' <<<"$SW")
	[ "$i" -ge 10 ]
}

@test "a QEMU cell gives the guest build/vmm --dry-run's command line and queues, less request= and emulation=" {
	local combos=() cfgs=() names=() g cpus comp q n dry want img
	for g in linux tiny; do for cpus in 1 2; do for q in - 3; do
		for comp in $(jq -r '.switches[] | select(.flag == "completion") | .modes[].name' <<<"$SW"); do
			combos+=("$g $cpus $comp $q")
		done
	done; done; done
	for n in "${!combos[@]}"; do
		read -r g cpus comp q <<<"${combos[n]}"
		names+=("q$n")
		cfgs+=("[config q$n]" "kind = qemu" "guest = $g" "cpus = $cpus" "completion = $comp" "guest_cmdline = nohz_full=1")
		[ "$q" = - ] || cfgs+=("queues = $q")
	done
	kit "$(study "configs = ${names[*]}" "${cfgs[@]}")"
	for n in "${!combos[@]}"; do
		read -r g cpus comp q <<<"${combos[n]}"
		[ "$q" != - ] || q=""
		if [ "$g" = linux ]; then img=(--initrd "$LINUX_INITRD" "$LINUX_KERNEL"); else img=("$GUEST"); fi
		dry=$("$ROOT/build/vmm" --dry-run --cpus "$cpus" --completion "$comp" --cmdline nohz_full=1 \
			--disk "$DISK${q:+,queues=$q}" "${img[@]}")
		want=$(jq -r '.cmdline | split(" ") | map(select(test("^(request|emulation)=") | not)) | join(" ")' <<<"$dry")
		[ "$g" = linux ] || want+=" tsc_khz=$TSC_KHZ"
		cell_command "q$n" randread-4k-qd1 "$BATS_TEST_TMPDIR/rep"
		[ "$(arg_after CMD -append)" = "$want" ] || { echo "${combos[n]}: $(arg_after CMD -append) != $want"; false; }
		[[ " ${CMD[*]} " == *" virtio-blk-device,drive=d0,num-queues=$(jq .disks[0].queues <<<"$dry")"[\ ,]* ]] ||
			{ echo "${combos[n]}: ${CMD[*]}"; false; }
	done
	[ "${#combos[@]}" -ge 24 ]
}

@test "the Linux guest gets the same words from a QEMU cell as from the build/vmm cell of the same configuration" {
	local c vmm qemu
	kit "$(study 'configs = v1 q1 v2 q2' 'guest = linux' \
		'[config v1]' 'completion = poll' '[config q1]' 'kind = qemu' 'completion = poll' \
		'[config v2]' 'completion = irq' 'cpus = 2' '[config q2]' 'kind = qemu' 'completion = irq' 'cpus = 2')"
	for c in 1 2; do
		cell_command "v$c" randread-4k-qd1 "$BATS_TEST_TMPDIR/rep"
		vmm=$("$ROOT/build/vmm" --dry-run "${CMD[@]:1}" | jq -r '.cmdline | split(" ") | map(select(test("^(request|emulation)=") | not)) | join(" ")')
		cell_command "q$c" randread-4k-qd1 "$BATS_TEST_TMPDIR/rep"
		qemu=$(arg_after CMD -append)
		[ "$qemu" = "$vmm" ] || { echo "$c: QEMU: $qemu; build/vmm: $vmm"; false; }
		[[ "$qemu" == *"console=ttyS0"* ]]
	done
}

@test "a run's host facts are build/vmm --platform's: KVM flavor and posted interrupts" {
	stub_env
	EXITLESS_STUB_FLAVOR=vmx EXITLESS_STUB_POSTED=true run "$ROOT/experiments/run" "$FIX/studies/stub.ini" \
		--out "$BATS_TEST_TMPDIR/r" --reps 1 --only 'bare/*'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	jq -e '.host.kvm_flavor == "vmx" and .host.posted_interrupts == true' "$BATS_TEST_TMPDIR/r/meta.json"
	jq -e '.kvm_flavor == "vmx" and .posted_interrupts == true' "$BATS_TEST_TMPDIR/r/hosts/"*.json
	# without a VMM to ask, the flavor is the word build/vmm uses when it cannot tell
	EXITLESS_VMM=/nonexistent/vmm run bash -c ". '$ROOT/experiments/lib/common.sh'; kvm_flavor"
	[ "$output" = unknown ]
}

@test "without build/vmm a study is not even read: one line saying to run make" {
	EXITLESS_VMM=/nonexistent/vmm run "$ROOT/experiments/run" quick --list
	[ "$status" -eq 2 ]
	[ "$output" = "run: /nonexistent/vmm is missing: run make" ]
}

@test "exit-table takes its transports, completions and backends from build/vmm --switches" {
	[ -f "$ROOT/build/guest.elf" ] || skip "build/guest.elf is not built"
	run "$ROOT/experiments/exit-table" --transports "mmio carrier-pigeon"
	[ "$status" -eq 2 ]
	[ "$output" = "exit-table: --transports mmio carrier-pigeon: carrier-pigeon is not one of $(jq '[.switches[] | select(.flag == "transport") | .modes[].name]' <<<"$SW" | or_list) (build/vmm --switches)" ]
	run "$ROOT/experiments/exit-table" --completions "irq smoke-signal"
	[ "$status" -eq 2 ]
	[ "$output" = "exit-table: --completions irq smoke-signal: smoke-signal is not one of $(jq '[.switches[] | select(.flag == "completion") | .modes[].name]' <<<"$SW" | or_list) (build/vmm --switches)" ]
	run "$ROOT/experiments/exit-table" --backend tape
	[ "$status" -eq 2 ]
	[ "$output" = "exit-table: --backend tape: tape is not one of $(jq .backends <<<"$SW" | or_list) (build/vmm --switches)" ]
}
