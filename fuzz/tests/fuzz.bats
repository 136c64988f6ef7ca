#!/usr/bin/env bats
# fuzz.bats - a short run of each libFuzzer target from its seeds: no crash, no broken invariant (skipped without clang's libFuzzer).
# FUZZ_TEST_SECONDS (default 5) bounds each run; `make fuzz` runs them longer. A crash input is saved in fuzz/crashes/.

setup() {
	SECS=${FUZZ_TEST_SECONDS:-5}
	local rt
	rt=$(clang --print-runtime-dir 2>/dev/null || true)
	if [ -z "$rt" ] || [ ! -f "$rt/libclang_rt.fuzzer-x86_64.a" ]; then
		skip "clang's libFuzzer runtime (libclang_rt.fuzzer-x86_64.a, Debian package libclang-rt-14-dev) is not installed"
	fi
}

# short_run TARGET: the target must be built by `make all` and survive $SECS seconds.
short_run() {
	local t=$1
	[ -x "build/fuzz/$t" ] || {
		echo "build/fuzz/$t is missing: run make all (the top Makefile must -include fuzz/fuzz.mk)"
		return 1
	}
	run fuzz/run "$SECS" "$BATS_TEST_TMPDIR" "$t"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "$t: $SECS s, "*"no crash" ]]
}

@test "fuzz-vq: virtqueue walker and virtio-blk parser hold for a short run" {
	short_run fuzz-vq
}

@test "fuzz-mmio: virtio-mmio registers with ring contents hold for a short run" {
	short_run fuzz-mmio
}

@test "fuzz-pci: the virtio-pci function (configuration space, BAR 0, MSI-X) with ring contents holds for a short run" {
	short_run fuzz-pci
}

@test "fuzz-elf: the PVH loader holds for a short run" {
	short_run fuzz-elf
}

@test "fuzz-job: the job-file parser holds for a short run" {
	short_run fuzz-job
}

@test "fuzz/run refuses bad usage with exit status 2" {
	run fuzz/run ten "$BATS_TEST_TMPDIR" fuzz-vq
	[ "$status" -eq 2 ]
	[ "$output" = "usage: fuzz/run SECONDS WORKDIR TARGET..." ]
}
