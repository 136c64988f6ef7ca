#!/usr/bin/env bats
# engine.bats - the job engine on the host: same io_bytes as fio, verify across imgcheck, exact errors.

setup() {
	HOST=build/engine-host
	CHECK=build/imgcheck
	TMP=$(mktemp -d)
	IMG=$TMP/disk.img
	truncate -s 32M "$IMG"
}

teardown() {
	rm -rf "$TMP"
}

# job NAME BODY...: writes $TMP/NAME.fio from the remaining arguments, one line each.
job() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$TMP/$name.fio"
}

# same_as_fio NAME: runs NAME.fio with fio and with engine-host on $IMG; compares io_bytes per direction.
same_as_fio() {
	local name=$1 dir fio_b eng_b
	fio --output-format=json --filename="$IMG" "$TMP/$name.fio" >"$TMP/fio.json"
	"$HOST" --results "$TMP/eng.json" "$TMP/$name.fio" "$IMG" 2>/dev/null
	for dir in read write; do
		fio_b=$(jq ".jobs[0].$dir.io_bytes" "$TMP/fio.json")
		eng_b=$(jq ".jobs[0].$dir.io_bytes" "$TMP/eng.json")
		echo "$name $dir: fio $fio_b engine $eng_b"
		[ "$fio_b" = "$eng_b" ]
	done
}

@test "number_ios-bounded random reads: the same io_bytes as fio" {
	job rr '[global]' 'ioengine=io_uring' '[rr]' 'rw=randread' 'bs=4k' 'size=8m' 'number_ios=300' 'iodepth=4'
	same_as_fio rr
}

@test "number_ios-bounded sequential writes: the same io_bytes as fio" {
	job sw '[sw]' 'ioengine=io_uring' 'direct=1' 'rw=write' 'bs=64k' 'number_ios=50' 'iodepth=8'
	same_as_fio sw
}

@test "size-bounded sequential reads with a partial last block: the same io_bytes as fio" {
	job sr '[sr]' 'ioengine=psync' 'rw=read' 'bs=4k' 'offset=1m' 'size=10k'
	same_as_fio sr
}

@test "number_ios-bounded randrw: the same total as fio" {
	job mix '[mix]' 'ioengine=psync' 'rw=randrw' 'rwmixread=70' 'bs=4k' 'size=4m' 'number_ios=200'
	fio --output-format=json --filename="$IMG" "$TMP/mix.fio" >"$TMP/fio.json"
	"$HOST" --results "$TMP/eng.json" "$TMP/mix.fio" "$IMG" 2>/dev/null
	total='.jobs[0].read.io_bytes + .jobs[0].write.io_bytes'
	[ "$(jq "$total" "$TMP/fio.json")" = "$(jq "$total" "$TMP/eng.json")" ]
}

@test "one jq collector reads fio's and the engine's JSON alike" {
	job rr '[rr]' 'ioengine=psync' 'rw=randread' 'bs=4k' 'number_ios=64'
	fio --output-format=json --filename="$IMG" "$TMP/rr.fio" >"$TMP/fio.json"
	"$HOST" --results "$TMP/eng.json" "$TMP/rr.fio" "$IMG" 2>/dev/null
	collect='.jobs[0].read | [.iops, .bw_bytes, .io_bytes, .clat_ns.percentile["99.000000"], .lat_ns.mean,
		.runtime, .total_ios, .clat_ns.N] | map(type) | join(",")'
	[ "$(jq -r "$collect" "$TMP/fio.json")" = "$(jq -r "$collect" "$TMP/eng.json")" ]
	[ "$(jq -r "$collect" "$TMP/eng.json")" = "number,number,number,number,number,number,number,number" ]
	[ "$(jq '.exitless.format' "$TMP/eng.json")" = 1 ]
}

@test "imgcheck-written blocks pass the engine's verify-read job" {
	run "$CHECK" --write "$IMG" --bs 4k --size 16m
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote 4096 blocks of 4096 bytes"* ]]
	run "$HOST" --direct --results "$TMP/eng.json" workloads/jobs/verify-read.fio "$IMG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"4096 blocks checked, 0 mismatches"* ]]
	[ "$(jq '.exitless.verify_errors' "$TMP/eng.json")" = 0 ]
}

@test "one corrupted byte fails the verify-read job with exit 1, naming its offset" {
	"$CHECK" --write "$IMG" --bs 4k --size 16m
	printf '\xff' | dd of="$IMG" bs=1 seek=$((5 * 4096 + 100)) conv=notrunc status=none
	run "$HOST" --results "$TMP/eng.json" workloads/jobs/verify-read.fio "$IMG"
	[ "$status" -eq 1 ]
	[[ "$output" == *"verify: offset 20480 (LBA 40): payload byte +100 expected"* ]]
	[ "$(jq '.exitless.verify_errors' "$TMP/eng.json")" = 1 ]
}

@test "the engine's verify-crc32c job passes, and imgcheck verifies the image after it" {
	run "$HOST" --direct --results "$TMP/eng.json" workloads/jobs/verify-crc32c.fio "$IMG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"4096 blocks checked, 0 mismatches"* ]]
	run "$CHECK" --check "$IMG" --bs 4k --size 16m
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 4096 blocks of 4096 bytes from offset 0"*": 0 mismatches" ]]
}

@test "imgcheck names a corrupted block and exits 1" {
	"$CHECK" --write "$IMG" --bs 4k --size 1m
	printf '\x00' | dd of="$IMG" bs=1 seek=$((8 * 4096 + 8)) conv=notrunc status=none
	run "$CHECK" --check "$IMG" --bs 4k --size 1m
	[ "$status" -eq 1 ]
	[[ "$output" == *"offset 32768 (LBA 64): LBA expected 0x40 found"* ]]
	[[ "$output" == *": 1 mismatches" ]]
}

@test "imgcheck: a usage error is one line and exit 2" {
	run "$CHECK" --check "$IMG"
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "imgcheck: --bs must be a multiple of 512 up to 4m (the job's bs)" ]
}

@test "a bad job file exits 2 with the exact message" {
	job bad '[global]' 'bs=4k' '' '[j]' 'rw=read' 'iodepht=32'
	run "$HOST" "$TMP/bad.fio" "$IMG"
	[ "$status" -eq 2 ]
	[ "$output" = "job file line 6: unknown option 'iodepht'" ]
	job bad2 '[j]' 'bs=4q'
	run "$HOST" "$TMP/bad2.fio" "$IMG"
	[ "$status" -eq 2 ]
	[ "$output" = "job file line 2: bad value '4q' for option 'bs' (block size, e.g. 4k, 128k, 1m)" ]
}

@test "pause-resume.fio: fio's I/O counts, 2 ms pauses in the first job, the second starts 2 s into the run" {
	local f=workloads/jobs/pause-resume.fio out t0 ms
	fio --output-format=json --filename="$IMG" "$f" >"$TMP/fio.json"
	t0=$(date +%s%N)
	"$HOST" --results "$TMP/eng.json" "$f" "$IMG" 2>/dev/null
	ms=$((($(date +%s%N) - t0) / 1000000))
	for out in fio eng; do
		jq -c '[.jobs[] | [.jobname, .read.total_ios, .job_runtime]]' "$TMP/$out.json"
		[ "$(jq -r '[.jobs[].read.total_ios] | join(",")' "$TMP/$out.json")" = "300,300" ]
		[ "$(jq '.jobs[0].job_runtime' "$TMP/$out.json")" -ge 600 ]
		[ "$(jq '.jobs[1].job_runtime' "$TMP/$out.json")" -lt 600 ]
	done
	echo "engine: $ms ms"
	[ "$ms" -ge 2000 ]
}

# paced NAME LINE...: a time-limited psync job of 4k reads on 16 MiB with the LINEs, run by fio and by engine-host.
paced() {
	local name=$1
	shift
	job "$name" '[global]' 'ioengine=psync' 'rw=randread' 'bs=4k' 'size=16m' "$@" "[$name]"
	fio --output-format=json --filename="$IMG" "$TMP/$name.fio" >"$TMP/fio.json"
	"$HOST" --results "$TMP/eng.json" "$TMP/$name.fio" "$IMG" 2>/dev/null
}

# near FIELD WANT PCT: .jobs[0].FIELD is within PCT % of WANT in fio's results and in the engine's. Unpaced, the
# same jobs run at 50-500k reads a second from the page cache: no rate check here can pass by accident.
near() {
	local field=$1 want=$2 pct=$3 out v
	for out in fio eng; do
		v=$(jq ".jobs[0].$field" "$TMP/$out.json")
		echo "$out: $field $v (want $want +- $pct %)"
		awk -v v="$v" -v w="$want" -v p="$pct" 'BEGIN { exit !(v >= w * (1 - p / 100) && v <= w * (1 + p / 100)) }'
	done
}

@test "rate_iops=2000 for 1 s: 2000 reads at 2000 IOPS, as fio, within 1 %" {
	paced r 'time_based' 'runtime=1' 'rate_iops=2000'
	near read.total_ios 2000 1
	near read.iops 2000 1
}

@test "rate_iops at iodepth=8 offers the same load (fio with io_uring), within 1 %" {
	paced r 'ioengine=io_uring' 'iodepth=8' 'time_based' 'runtime=1' 'rate_iops=2000'
	near read.total_ios 2000 1
}

@test "rate=4m,2m on randrw: 1024 reads and 512 writes a second, as fio, within 1 %" {
	paced rw 'rw=randrw' 'time_based' 'runtime=1' 'rate=4m,2m'
	near read.total_ios 1024 1
	near write.total_ios 512 1
}

@test "rate_iops=,300 after rate_iops=1000 limits writes to 300 and leaves reads at 1000, as fio" {
	paced rw 'rw=randrw' 'rwmixread=90' 'time_based' 'runtime=1' 'rate_iops=1000' 'rate_iops=,300'
	near read.total_ios 1000 1
	near write.total_ios 300 1
}

@test "rate_process=poisson at 5000 IOPS for 2 s: 10000 reads +- 3 standard deviations, as fio" {
	paced p 'time_based' 'runtime=2' 'rate_iops=5000' 'rate_process=poisson'
	near read.total_ios 10000 3
}

@test "rate_iops with ramp_time: the schedule starts again with the window, as fio, within 1 %" {
	paced r 'time_based' 'runtime=1' 'ramp_time=300ms' 'rate_iops=1000'
	near read.total_ios 1000 1
}

@test "number_ios=300 at rate_iops=1000 takes 0.3 s, as fio" {
	paced n 'number_ios=300' 'rate_iops=1000'
	near read.total_ios 300 0
	near read.runtime 300 3
}

@test "every shipped job file parses, in the engine and in fio" {
	for f in workloads/jobs/*.fio; do
		"$HOST" --parse-only "$f"
		fio --parse-only "$f" >/dev/null
	done
}

@test "the shipped job files are what workloads/jobs/gen writes" {
	cp -r workloads/jobs "$TMP/jobs"
	"$TMP/jobs/gen"
	diff -r workloads/jobs "$TMP/jobs"
}
