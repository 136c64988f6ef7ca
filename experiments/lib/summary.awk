# experiments/lib/summary.awk - from cells.tsv and the raw rows of a run, writes results.csv and summary.csv.
# Input 1: cells.tsv (cell, config, kind, job, rw, bs, iodepth, ...); input 2: rows "cell rep status metric value".
# Variables: run (run id), results and summary (output paths), emulated (1: the run was made on an emulated
# platform, whose throughput and latency are no performance figures: summary.csv keeps only the counts),
# perf_missing (why the run has no perf figures, from meta.json; empty when perf ran).
# hostmap: a file of "cell rep host kind" lines: a repetition is divided only by bare metal measured on the same host,
# and a job whose repetitions ran on hosts of more than one kind gets no ratio to bare metal (a warning says so).
# The 100 % line of a job is its bare-metal cell with the highest median IOPS (bare metal at its best).
# POSIX awk (mawk): no asort, no gensub.

BEGIN {
	FS = "\t"
	while (hostmap != "" && (getline line < hostmap) > 0)
		if (split(line, f, "\t") == 4) { host[f[1], f[2]] = f[3]; hkind[f[1], f[2]] = f[4] }
}

# cells.tsv is read by the names of its header row, not by position.
FNR == NR {
	if (FNR == 1) { header("cell config kind job rw bs iodepth"); next }
	c = $col["cell"]
	ncell++; cells[ncell] = c; config[c] = $col["config"]; kind[c] = $col["kind"]; job[c] = $col["job"]
	rw[c] = $col["rw"]; bs[c] = $col["bs"]; qd[c] = $col["iodepth"]
	next
}

function header(need,   i, n, f) {
	for (i = 1; i <= NF; i++) col[$i] = i
	n = split(need, f, " ")
	for (i = 1; i <= n; i++)
		if (!(f[i] in col)) { print "summary.awk: " FILENAME " has no column " f[i] > "/dev/stderr"; bad = 1; exit 2 }
}

{
	c = $1; r = $2; k = c SUBSEP r
	if (!(k in state)) { nrep[c]++; reps[c, nrep[c]] = r; state[k] = $3 }
	if ($3 == "ok" && $4 != "") put(k, $4, $5)
}

function put(k, m, v) {
	if (!((k, m) in val)) { nm[k]++; mname[k, nm[k]] = m }
	val[k, m] = v
}

function fmt(v) {
	if (v == "") return ""
	if (v == int(v) && (v < 0 ? -v : v) < 1e15) return sprintf("%.0f", v)  # not %d: mawk saturates it at 2^31 - 1
	if ((v < 0 ? -v : v) >= 1e6) return sprintf("%.0f", v)
	return sprintf("%.6g", v)
}

# gather(c, m, scale): the values of metric m over the good repetitions of cell c into vals[1..n], sorted.
function gather(c, m, scale,   i, j, k, x, n) {
	n = 0
	for (i = 1; i <= nrep[c]; i++) {
		k = c SUBSEP reps[c, i]
		if ((k, m) in val) { x = val[k, m] / scale; for (j = n; j > 0 && vals[j] > x; j--) vals[j + 1] = vals[j]; vals[j + 1] = x; n++ }
	}
	return n
}

function median(n) { return n == 0 ? "" : (n % 2 ? vals[(n + 1) / 2] : (vals[n / 2] + vals[n / 2 + 1]) / 2) }

# triple(c, m, scale): "median,min,max" of a metric, empty fields when no repetition has it.
function triple(c, m, scale,   n) {
	n = gather(c, m, scale)
	if (n == 0) return ",,"
	return fmt(median(n)) "," fmt(vals[1]) "," fmt(vals[n])
}

# perf_triple: triple() for a throughput or latency metric, empty on an emulated platform.
function perf_triple(c, m, scale) { return emulated ? ",," : triple(c, m, scale) }

function sort_reps(c,   i, j, x) {
	for (i = 2; i <= nrep[c]; i++) {
		x = reps[c, i]
		for (j = i - 1; j > 0 && reps[c, j] + 0 > x + 0; j--) reps[c, j + 1] = reps[c, j]
		reps[c, j + 1] = x
	}
}

# derive(c): per-repetition pct_of_bare (rep k against bare rep k) and, from perf stat, cores busy and host CPU
# per I/O, alike for every kind (bare metal, build/vmm, QEMU: the whole process over its whole run).
function derive(c,   i, k, b, bk) {
	b = bare[job[c]]
	for (i = 1; i <= nrep[c]; i++) {
		k = c SUBSEP reps[c, i]
		if (state[k] != "ok") continue
		bk = b SUBSEP reps[c, i]
		if (!emulated && b != "" && ((k, "iops") in val) && state[bk] == "ok" && ((bk, "iops") in val) && val[bk, "iops"] > 0 &&
		    host[k] == host[bk])
			put(k, "pct_of_bare", fmt(100 * val[k, "iops"] / val[bk, "iops"]))
		host_cpu(k)
		# neighbour=1: a CPU-bound loop's rate beside the I/O as % of its rate alone (guest units per ns)
		loop_pct(k, "loop_same_pct", "guest_think_units", "guest_think_ns", "guest_loop_ref_units", "guest_loop_ref_ns")
		loop_pct(k, "loop_other_pct", "guest_loop_other_units", "guest_loop_other_ns", "guest_loop_other_ref_units", "guest_loop_other_ref_ns")
	}
}

# host_cpu(k): cores busy = task-clock / the wall time perf saw (duration_time), and CPU per I/O = cores busy /
# IOPS: the start-up and the ramp are in both the CPU time and the wall time, so they weigh as the measured
# window does. Without duration_time (older runs): task-clock / the I/Os of the measured window.
function host_cpu(k,   busy) {
	if (!((k, "perf_task_clock_ms") in val)) return
	if (val[k, "perf_duration_time"] > 0) {
		busy = 1e6 * val[k, "perf_task_clock_ms"] / val[k, "perf_duration_time"]
		put(k, "cores_busy", fmt(busy))
		if (val[k, "iops"] > 0) put(k, "host_cpu_us_per_io", fmt(1e6 * busy / val[k, "iops"]))
	} else if (val[k, "total_ios"] > 0)
		put(k, "host_cpu_us_per_io", fmt(1000 * val[k, "perf_task_clock_ms"] / val[k, "total_ios"]))
}

# cpu_missing(c, ok): why a cell with good repetitions has no perf CPU figures ("" when it has them); commas
# become semicolons (a CSV field).
function cpu_missing(c, ok,   r) {
	if (!ok || gather(c, "host_cpu_us_per_io", 1) > 0) return ""
	r = perf_missing != "" ? perf_missing : "perf stat counted no task-clock (see cells/" c "/rep*/perf.csv)"
	gsub(/[,"]/, ";", r)
	return r
}

# per_core(c, metric): I/Os per host CPU-second, 1e6 / the median of a CPU-µs-per-I/O metric ("" without it).
function per_core(c, metric,   m) {
	if (!gather(c, metric, 1)) return ""
	m = median(gather(c, metric, 1))
	return m > 0 ? fmt(1e6 / m) : ""
}

function loop_pct(k, name, u, t, ru, rt) {
	if (val[k, t] > 0 && val[k, u] > 0 && val[k, rt] > 0 && val[k, ru] > 0)
		put(k, name, fmt(100 * (val[k, u] / val[k, t]) / (val[k, ru] / val[k, rt])))
}

function write_results(   i, j, n, c, k) {
	print "run,cell,config,job,rep,metric,value" > results
	for (i = 1; i <= ncell; i++) {
		c = cells[i]
		for (j = 1; j <= nrep[c]; j++) {
			k = c SUBSEP reps[c, j]
			for (n = 1; n <= nm[k]; n++)
				print run "," c "," config[c] "," job[c] "," reps[c, j] "," mname[k, n] "," val[k, mname[k, n]] > results
		}
	}
}

function write_summary(   i, j, c, ok, bad, pct, mb, mc, cpu, src, n) {
	printf "run,cell,config,kind,job,rw,bs,iodepth,reps_ok,reps_failed," > summary
	printf "iops_median,iops_min,iops_max,bw_bytes_median,bw_bytes_min,bw_bytes_max," > summary
	for (j = 1; j <= nlat; j++) printf "%s_us_median,%s_us_min,%s_us_max,", lat[j], lat[j], lat[j] > summary
	printf "pct_of_bare,pct_of_bare_min,pct_of_bare_max,exits_per_io,exits_per_io_min,exits_per_io_max," > summary
	printf "irqs_per_io,irqs_per_io_min,irqs_per_io_max,notifies_per_io,cpu_us_per_io,cpu_us_per_io_min," > summary
	printf "cpu_us_per_io_max,cpu_source,host_cpu_us_per_io,bare_ref,loop_same_pct,loop_same_pct_min,loop_same_pct_max," > summary
	print "loop_other_pct,loop_other_pct_min,loop_other_pct_max,host_cpu_us_per_io_min,host_cpu_us_per_io_max,cores_busy,cores_busy_min,cores_busy_max,cpu_missing,iops_per_core,host_iops_per_core" > summary
	for (i = 1; i <= ncell; i++) {
		c = cells[i]
		if (nrep[c] == 0) continue
		ok = bad = 0
		for (j = 1; j <= nrep[c]; j++) if (state[c, reps[c, j]] == "ok") ok++; else bad++
		printf "%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,", run, c, config[c], kind[c], job[c], rw[c], bs[c], qd[c], ok, bad > summary
		printf "%s,%s,", perf_triple(c, "iops", 1), perf_triple(c, "bw_bytes", 1) > summary
		for (j = 1; j <= nlat; j++) printf "%s,", perf_triple(c, lat[j] "_ns", 1000) > summary
		# pct_of_bare: ratio of the medians; min and max: extremes of the paired per-repetition ratios
		pct = ""
		if (!emulated && bare[job[c]] != "" && gather(c, "iops", 1) > 0) {
			mc = median(gather(c, "iops", 1))
			if (gather(bare[job[c]], "iops", 1) > 0 && (mb = median(gather(bare[job[c]], "iops", 1))) > 0) pct = 100 * mc / mb
		}
		n = emulated ? 0 : gather(c, "pct_of_bare", 1)
		printf "%s,%s,%s,", fmt(pct), (n ? fmt(vals[1]) : ""), (n ? fmt(vals[n]) : "") > summary
		printf "%s,%s,%s,", triple(c, "exits_per_io", 1), triple(c, "irqs_per_io", 1), fmt(median(gather(c, "notifies_per_io", 1))) > summary
		# CPU per I/O: the VMM's own accounting of the measured window when there is one, else perf stat
		src = "stats"; cpu = perf_triple(c, "cpu_us_per_io", 1)
		if (cpu == ",,") { src = "perf"; cpu = perf_triple(c, "host_cpu_us_per_io", 1) }
		if (cpu == ",,") src = ""
		printf "%s,%s,%s,%s,", cpu, src, (emulated ? "" : fmt(median(gather(c, "host_cpu_us_per_io", 1)))), config[bare[job[c]]] > summary
		printf "%s,%s,", perf_triple(c, "loop_same_pct", 1), perf_triple(c, "loop_other_pct", 1) > summary
		cpu = perf_triple(c, "host_cpu_us_per_io", 1); sub(/^[^,]*,/, "", cpu)
		printf "%s,%s,%s,", cpu, perf_triple(c, "cores_busy", 1), (emulated ? "" : cpu_missing(c, ok)) > summary
		# I/Os per host CPU-second (Firecracker's figure of merit): of the CPU per I/O above, and of perf's
		printf "%s,%s\n", per_core(c, src == "stats" ? "cpu_us_per_io" : "host_cpu_us_per_io"), \
			(emulated ? "" : per_core(c, "host_cpu_us_per_io")) > summary
	}
}

END {
	if (bad) exit 2
	nlat = split("clat_mean clat_p50 clat_p90 clat_p99 clat_p99.9 lat_mean lat_p50 lat_p99", lat, " ")
	mixed_jobs()
	for (i = 1; i <= ncell; i++) {
		c = cells[i]
		if (kind[c] != "bare" || (job[c] in mixed) || !gather(c, "iops", 1)) continue
		m = median(gather(c, "iops", 1))
		if (!(job[c] in bare) || m > best[job[c]]) { bare[job[c]] = c; best[job[c]] = m }
	}
	for (i = 1; i <= ncell; i++) { sort_reps(cells[i]); derive(cells[i]) }
	write_results()
	write_summary()
}

# mixed_jobs: the jobs whose good repetitions ran on hosts of more than one kind (no ratio to bare metal).
function mixed_jobs(   i, j, c, k) {
	for (i = 1; i <= ncell; i++) {
		c = cells[i]
		for (j = 1; j <= nrep[c]; j++) {
			k = c SUBSEP reps[c, j]
			if (state[k] != "ok" || !(k in hkind)) continue
			if (!(job[c] in first)) first[job[c]] = hkind[k]
			else if (hkind[k] != first[job[c]] && !(job[c] in mixed)) {
				mixed[job[c]] = 1
				printf "collect: warning: job %s ran on hosts of different kinds (%s; %s): no ratio to bare metal for it\n", job[c], first[job[c]], hkind[k] > "/dev/stderr"
			}
		}
	}
}
