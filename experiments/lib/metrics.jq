# experiments/lib/metrics.jq - one "metric<TAB>value" line per number of interest in a fio-format JSON file
# (bare-metal fio or the guest engine: jobs[].read/write) or in a VMM stats JSON (format 1). Unknown or
# missing fields are skipped, so newer outputs with more fields still parse.
# Names: iops, bw_bytes, io_bytes, total_ios (read + write, all jobs); read_* / write_* per direction;
# clat_* / lat_* unprefixed for the main direction (the one with more I/Os); latencies in ns, percentiles as
# clat_p99.9_ns; guest_* from the guest's "exitless" object; stats fields flattened with "_" (kvm_exits ...).

def pname: "p" + (tonumber | tostring);
def emit($name; $v): if ($v | type) == "number" then [$name, $v] else empty end;
def sum($d; $f): [.jobs[] | .[$d][$f] // 0] | add;

# latency block $k (clat_ns or lat_ns) of direction object $x, names prefixed with $pre
def latency($x; $pre):
	("clat_ns", "lat_ns") as $k | ($x[$k] // {}) as $l | ($k | sub("_ns$"; "")) as $kn |
	( (("mean", "stddev", "min", "max") as $s | emit("\($pre)\($kn)_\($s)_ns"; $l[$s])),
	  (($l.percentile // {}) | to_entries[] | emit("\($pre)\($kn)_\(.key | pname)_ns"; .value)) );

def fio_metrics:
	[("read", "write") as $d | select(sum($d; "total_ios") > 0 or sum($d; "io_bytes") > 0) | $d] as $dirs |
	. as $all |
	( ($dirs[] as $d | $all.jobs[0][$d] as $x |
		emit("\($d)_iops"; $all | sum($d; "iops")), emit("\($d)_bw_bytes"; $all | sum($d; "bw_bytes")),
		emit("\($d)_io_bytes"; $all | sum($d; "io_bytes")), emit("\($d)_total_ios"; $all | sum($d; "total_ios")),
		emit("\($d)_runtime_ms"; $x.runtime), latency($x; "\($d)_")),
	  emit("iops"; [$dirs[] as $d | $all | sum($d; "iops")] | add),
	  emit("bw_bytes"; [$dirs[] as $d | $all | sum($d; "bw_bytes")] | add),
	  emit("io_bytes"; [$dirs[] as $d | $all | sum($d; "io_bytes")] | add),
	  emit("total_ios"; [$dirs[] as $d | $all | sum($d; "total_ios")] | add),
	  emit("runtime_ms"; [$dirs[] as $d | $all.jobs[0][$d].runtime // 0] | max),
	  ( [$dirs[] as $d | {d: $d, n: ($all | sum($d; "total_ios"))}] | max_by(.n) // null | select(. != null) |
		latency($all.jobs[0][.d]; "") ),
	  emit("fio_usr_cpu_pct"; .jobs[0].usr_cpu), emit("fio_sys_cpu_pct"; .jobs[0].sys_cpu),
	  ((.exitless // {}) as $g | $g | paths(type == "number") as $p |
		emit("guest_" + ($p | map(tostring) | join("_")); $g | getpath($p))) );

def stats_metrics:
	( del(.format, .config) | paths(type == "number") as $p | . as $s |
		emit($p | map(tostring) | join("_"); $s | getpath($p)) ),
	( if .exits_per_io == null and .exits != null and (.ios // 0) > 0 then emit("exits_per_io"; .exits / .ios)
	  else empty end ),
	( if .cpu_us_per_io == null and .threads != null and (.ios // 0) > 0
	  then emit("cpu_us_per_io"; ([.threads[] | .cpu_us // 0] | add) / .ios) else empty end );

# Input: the raw lines of any number of files (jq -nR ... FILES); output "file<TAB>metric<TAB>value". A file that
# is not valid JSON is skipped; one named stats.json is read as VMM stats, any other as fio JSON.
reduce inputs as $line ({}; .[input_filename] += $line + "\n") | to_entries[] | .key as $file |
	(.value | try fromjson catch null) | select(type == "object") |
	(if ($file | endswith("stats.json")) then stats_metrics else fio_metrics end) | [$file] + . | @tsv
