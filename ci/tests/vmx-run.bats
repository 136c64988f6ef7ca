#!/usr/bin/env bats
# ci/tests/vmx-run.bats - ci/vmx-run's one-line failures, on the host: bad usage (status 2), Bochs missing and a
# rig whose init never shows (status 125). The rig's real runs are tests/run's "vmx:" suites.

setup() {
	cd "$BATS_TEST_DIRNAME/../.." || return 1
}

# one_line STATUS LINE: the last run ended with STATUS and printed exactly LINE.
one_line() {
	[ "$status" -eq "$1" ] || { echo "status $status: $output"; return 1; }
	[ "$output" = "$2" ] || { echo "said: $output"; return 1; }
}

@test "bad usage is one line and status 2" {
	run ci/vmx-run --mem lots true
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "vmx-run: --mem: 'lots' is not a number in [256, 3072]" ]
	run ci/vmx-run --kvm-intel "ept=0; reboot" true
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "vmx-run: --kvm-intel: 'ept=0; reboot' is not NAME=VALUE words" ]
	run ci/vmx-run
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "vmx-run: no command given" ]
}

@test "a working directory the rig cannot see is refused with status 2" {
	cd /
	run "$BATS_TEST_DIRNAME/../vmx-run" true
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "vmx-run: the working directory must be in the repository or /tmp (the rig sees only those)" ]
}

@test "Bochs missing is one line and status 125" {
	BOCHS=no-such-bochs run ci/vmx-run true
	one_line 125 "vmx-run: Bochs is missing (make deps installs bochs, bochs-sdl, bochsbios, vgabios)"
}

@test "a rig whose init does not start in time is stopped, with one line and status 125" {
	VMX_RIG_BOOT_SEC=3 run ci/vmx-run true
	[ "$status" -eq 125 ] || { echo "status $status: $output"; false; }
	[[ "$output" == "vmx-run: no sign of the rig's init within 3 s (the kernel did not boot in Bochs) (console: "*"/console.log)" ]]
	[ "${#lines[@]}" -eq 1 ]
}
