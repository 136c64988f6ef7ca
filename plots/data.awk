# plots/data.awk - the data files of the figures, from a run's cells.tsv, summary.csv and results.csv.
# Writes DIR/<panel>.dat (tab-separated, a header row naming the series, then rows of value/low/high triples;
# figure d: a value per series; figure h: an x and a y per series) and DIR/panels.tsv: figure, data file, panel title, series count, solid-bar
# count, colour list (#RRGGBB words), the panel's y-axis label (empty: the figure's). A title "-" is none.
# Variables: dir (output folder). POSIX awk (mawk).

BEGIN {
	FS = "\n"
	# colours of configurations that name none (cells.tsv "-"), by their order in the study
	npal = split("#E69F00 #56B4E9 #009E73 #F0E442 #0072B2 #D55E00 #CC79A7 #999999 #882255 #44AA99 #332288 #DDCC77", pal, " ")
	# colours of series that are not configurations (workloads in figure b, the two loops in figure g)
	nwpal = split("#4477AA #EE6677 #228833 #CCBB44 #66CCEE #AA3377 #BBBBBB #000000", wpal, " ")
}
FNR == 1 { file++ }
file == 1 { cells_row(); next }
file == 2 { if (FNR > 1) summary_row(); else header(); next }
file == 3 { if (FNR > 1) result_row(); else columns(rcol, ",", "config job rep metric value"); next }

# cells.tsv, summary.csv and results.csv are read by the names of their header rows, not by position.
function cells_row(   f, c, j, k, i) {
	if (FNR == 1) { columns(tcol, "\t", "config kind label request emulation completion poll_us job rw bs iodepth"); return }
	split($0, f, "\t")
	c = f[tcol["config"]]; j = f[tcol["job"]]
	if (!(c in cidx)) { ncfg++; cfg[ncfg] = c; cidx[c] = ncfg; ckind[c] = f[tcol["kind"]]; clabel[c] = f[tcol["label"]]
		split("request emulation completion poll_us", k, " ")
		for (i = 1; i <= 4; i++) sw[c, k[i]] = f[tcol[k[i]]]
		# colour: optional (runs made before the column take the palette, as "-" does)
		ccol[c] = ("colour" in tcol && f[tcol["colour"]] ~ /^#/) ? f[tcol["colour"]] : pal[(ncfg - 1) % npal + 1] }
	if (!(j in jidx)) { njob++; jobs[njob] = j; jidx[j] = njob; jrw[j] = f[tcol["rw"]]; jbs[j] = f[tcol["bs"]]; jqd[j] = f[tcol["iodepth"]] }
}

# columns(a, sep, need): a[name] = the column of each name in this header row; every name in need must be there.
function columns(a, sep, need,   f, i, n) {
	n = split($0, f, sep); for (i = 1; i <= n; i++) a[f[i]] = i
	n = split(need, f, " ")
	for (i = 1; i <= n; i++) if (!(f[i] in a)) { print "data.awk: " FILENAME " has no column " f[i] > "/dev/stderr"; bad = 1; exit 2 }
}

function header() { columns(col, ",", "config job reps_ok") }

function summary_row(   f, c, j, m) {
	split($0, f, ",")
	c = f[col["config"]]; j = f[col["job"]]
	have[c, j] = 1
	for (m in col) S[c, j, m] = f[col[m]]
	if (f[col["reps_ok"]] + 0 > 0) { cok[c] = 1; jok[j] = 1 }
}

# compact: keeps the configurations and jobs with at least one successful repetition (a run made with --only
# or --cell, or an unfinished one, has cells without data); colours stay those of the full study.
function compact(   i, n) {
	n = 0; for (i = 1; i <= ncfg; i++) if (cfg[i] in cok) cfg[++n] = cfg[i]
	ncfg = n
	n = 0; for (i = 1; i <= njob; i++) if (jobs[i] in jok) jobs[++n] = jobs[i]
	njob = n
}

function result_row(   f, c, j, r, m, p) {
	split($0, f, ",")
	c = f[rcol["config"]]; j = f[rcol["job"]]; r = f[rcol["rep"]]; m = f[rcol["metric"]]
	if (m == "pct_of_bare") { P[c, j, r] = f[rcol["value"]]; prep[j, r] = 1 }
	# lat percentiles (ns) of each repetition, for figure d
	if (m ~ /^lat_p[0-9.]+_ns$/) {
		p = substr(m, 6, length(m) - 8)
		if (!(p in pseen)) { pseen[p] = 1; pl[++npl] = p }
		nL[c, j, p]++; L[c, j, p, nL[c, j, p]] = f[rcol["value"]] / 1000
	}
}

function v(x) { return x == "" ? "NaN" : x }
function bslabel(b) { return b >= 1048576 && b % 1048576 == 0 ? (b / 1048576) "M" : (b >= 1024 && b % 1024 == 0 ? (b / 1024) "k" : b) }
# wlabel(j): a workload's short name for an axis, on two lines: "4k rand" / "qd1" (and what the job name adds:
# "-j2", "-think").
function wlabel(j,   x) {
	x = j; sub(/^[a-z]+-[0-9]+[kKmM]?-qd[0-9]+/, "", x)
	return bslabel(jbs[j]) " " (jrw[j] == "read" ? "seq" : (jrw[j] == "randread" ? "rand" : jrw[j])) "\\nqd" jqd[j] x
}
function rwname(r) { return r == "read" ? "sequential reads" : (r == "randread" ? "random reads" : r) }

# series(sel): the configurations to draw as bars, in study order with QEMU last; sel: "vmm" (VMM + QEMU),
# "all" (bare, VMM, QEMU), "exits" (VMM only). Sets ser[1..nser], nsolid, colours.
function series(sel,   i, c) {
	nser = 0
	for (i = 1; i <= ncfg; i++) {
		c = cfg[i]
		if (ckind[c] == "bare" && sel == "all") ser[++nser] = c
		if (ckind[c] == "vmm") ser[++nser] = c
	}
	nsolid = nser
	for (i = 1; i <= ncfg; i++) if (ckind[cfg[i]] == "qemu" && sel != "exits") ser[++nser] = cfg[i]
	colours = ""
	for (i = 1; i <= nser; i++) colours = colours (i > 1 ? " " : "") ccol[ser[i]]
}

# wcolours(n): the colours of n series that are not configurations.
function wcolours(n,   i, c) { c = ""; for (i = 1; i <= n; i++) c = c (i > 1 ? " " : "") wpal[(i - 1) % nwpal + 1]; return c }

function head_row(first,   i, s) {
	s = first
	for (i = 1; i <= nser; i++) s = s "\t" (clabel[ser[i]] != "" ? clabel[ser[i]] : ser[i]) "\tlow\thigh"
	return s
}

function panel(fig, name, title, ylabel) {
	printf "%s\t%s/%s.dat\t%s\t%d\t%d\t%s\t%s\n", fig, dir, name, title, nser, nsolid, colours, ylabel > (dir "/panels.tsv")
	return dir "/" name ".dat"
}

# fig_a: % of bare metal by block size, one panel per access pattern and queue depth; when no panel would have
# more than one block size (a study of a few workloads), one panel with a cluster per workload instead.
function fig_a(   r, q, i, j, k, out, row, seen, rws, nrw, qds, nqd, bl, nb, done, multi) {
	series("vmm")
	nrw = split("read randread", rws, " ")
	for (i = 1; i <= njob; i++) if (!((jqd[jobs[i]]) in seen)) { seen[jqd[jobs[i]]] = 1; qds[++nqd] = jqd[jobs[i]] }
	for (r = 1; r <= nrw; r++) for (q = 1; q <= nqd; q++) {
		nb = 0
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == rws[r] && jqd[jobs[i]] == qds[q]) nb++
		if (nb > 1) multi = 1
	}
	if (!multi) {
		nb = 0
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == "read" || jrw[jobs[i]] == "randread") bl[++nb] = jobs[i]
		if (nb) { a_panel("a-workloads", "-", bl, nb, "job"); return }
	}
	for (r = 1; r <= nrw; r++) for (q = 1; q <= nqd; q++) {
		nb = 0
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == rws[r] && jqd[jobs[i]] == qds[q]) bl[++nb] = jobs[i]
		if (nb == 0) continue
		sortjobs(bl, nb)
		a_panel("a-" rws[r] "-qd" qds[q], rwname(rws[r]) ", queue depth " qds[q], bl, nb, "bs"); done++
	}
	if (!done) { out = panel("a", "a-none", "no sequential or random read jobs in this run", ""); print head_row("block size") > out; close(out) }
}

# a_panel(name, title, jobs, n, by): a panel of figure a, a cluster per job named by block size ("bs") or job.
function a_panel(name, title, bl, nb, by,   out, i, j, k, row) {
	out = panel("a", name, title, "")
	print head_row(by == "bs" ? "block size" : "workload") > out
	for (i = 1; i <= nb; i++) {
		row = by == "bs" ? bslabel(jbs[bl[i]]) : wlabel(bl[i])
		for (j = 1; j <= nser; j++) { k = ser[j] SUBSEP bl[i]; row = row "\t" v(S[k, "pct_of_bare"]) "\t" v(S[k, "pct_of_bare_min"]) "\t" v(S[k, "pct_of_bare_max"]) }
		print row > out
	}
	close(out)
}

function sortjobs(a, n,   i, j, x) {
	for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && jbs[a[j]] + 0 > jbs[x] + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
}

# key jobs for the per-configuration figures: all of them when few, else the smallest block size at every
# pattern and depth plus the largest sequential job at the deepest queue.
function keyjobs(   i, minbs, maxqd, big) {
	nkey = 0
	if (njob <= 6) { for (i = 1; i <= njob; i++) key[++nkey] = jobs[i]; return }
	minbs = -1; maxqd = 0
	for (i = 1; i <= njob; i++) { if (minbs < 0 || jbs[jobs[i]] + 0 < minbs) minbs = jbs[jobs[i]] + 0; if (jqd[jobs[i]] + 0 > maxqd) maxqd = jqd[jobs[i]] + 0 }
	for (i = 1; i <= njob; i++) if (jbs[jobs[i]] + 0 == minbs) key[++nkey] = jobs[i]
	for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == "read" && jqd[jobs[i]] + 0 == maxqd && jbs[jobs[i]] + 0 == 131072) big = jobs[i]
	if (big != "") key[++nkey] = big
}

function job_header(first,   i, s) { s = first; for (i = 1; i <= nkey; i++) s = s "\t" key[i] "\tlow\thigh"; return s }

function find_cfg(name, req, emu, cpl,   i, c) {
	if ((name in cidx) && ckind[name] == "vmm") return name
	for (i = 1; i <= ncfg; i++) { c = cfg[i]
		if (ckind[c] == "vmm" && sw[c, "request"] == req && sw[c, "emulation"] == emu && sw[c, "completion"] == cpl && sw[c, "poll_us"] == "-") return c }
	return ""
}

# ndiff(a, b): how many switches differ between two configurations; the last one in dsw.
function ndiff(a, b,   n, i, s, names) {
	n = 0; split("request emulation completion poll_us", names, " ")
	for (i = 1; i <= 4; i++) { s = names[i]; if (sw[a, s] != sw[b, s]) { n++; dsw = s } }
	return n
}

# delta(x, y, j): median/low/high over repetitions of pct(x) - pct(y) for job j, paired by repetition.
function delta(x, y, j,   r, n, d, i, k, t) {
	n = 0
	for (r = 1; r <= 1000 && n < 1000; r++) {
		if (!((j, r) in prep)) { if (r > 50) break; continue }
		if (((x, j, r) in P) && ((y, j, r) in P)) { t = P[x, j, r] - P[y, j, r]; for (k = n; k > 0 && d[k] > t; k--) d[k + 1] = d[k]; d[k + 1] = t; n++ }
	}
	if (n == 0) return "NaN\tNaN\tNaN"
	return (n % 2 ? d[(n + 1) / 2] : (d[n / 2] + d[n / 2 + 1]) / 2) "\t" d[1] "\t" d[n]
}

# fig_b: the benefit of each technique, in percentage points of bare metal: turned on alone from the
# baseline (variant - baseline) and turned off alone from full (full - variant).
function fig_b(   B, F, i, c, out, row, j, lab, n, s, sws) {
	B = find_cfg("baseline", "exit", "process", "irq"); F = find_cfg("full", "exitless", "thread", "poll")
	nser = nkey; nsolid = nkey; colours = wcolours(nkey)
	out = panel("b", "b-technique", "on alone in the baseline, off alone in full")
	print job_header("technique") > out
	# rows grouped by switch, each switch first turned on in the baseline, then off in full
	for (s = 1; s <= split("request emulation completion poll_us", sws, " "); s++) for (n = 1; n <= 2; n++) for (i = 1; i <= ncfg; i++) {
		c = cfg[i]
		if (ckind[c] != "vmm" || c == B || c == F) continue
		if (n == 1 && (B == "" || ndiff(c, B) != 1 || dsw != sws[s])) continue
		if (n == 2 && (F == "" || ndiff(c, F) != 1 || dsw != sws[s])) continue
		if (n == 1) lab = dsw " " sw[B, dsw] "→" sw[c, dsw] " (baseline)"
		else lab = dsw " " sw[c, dsw] "→" sw[F, dsw] " (full)"
		row = lab
		for (j = 1; j <= nkey; j++) row = row "\t" (n == 1 ? delta(c, B, key[j]) : delta(F, c, key[j]))
		print row > out
	}
	close(out)
}

# fig_c: VM exits per I/O, a bar per VMM configuration (its colour), a cluster per workload; zero stays zero
# (c-exits.gp prints it as "0" on a log axis).
function fig_c(   i, j, k, out, row, q) {
	series("exits")
	for (i = 1; i <= ncfg; i++) if (ckind[cfg[i]] == "qemu") q = " (QEMU: not counted)"
	out = panel("c", "c-exits", "guest-caused VM exits per I/O" q, "")
	print head_row("workload") > out
	for (j = 1; j <= nkey; j++) {
		row = wlabel(key[j])
		for (i = 1; i <= nser; i++) { k = ser[i] SUBSEP key[j]
			row = row "\t" v(S[k, "exits_per_io"]) "\t" v(S[k, "exits_per_io_min"]) "\t" v(S[k, "exits_per_io_max"]) }
		print row > out
	}
	close(out)
}

# fig_d: the lat distribution (submission to completion) at queue depth 1, smallest block size, per access
# pattern: a row per percentile, the median over the repetitions of each configuration (µs).
function fig_d(   r, rws, i, j, jb, out, row, p, done) {
	series("all"); sortpct()
	split("randread read", rws, " ")
	for (r = 1; r <= 2; r++) {
		jb = ""
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == rws[r] && jqd[jobs[i]] == 1 && (jb == "" || jbs[jobs[i]] + 0 < jbs[jb] + 0)) jb = jobs[i]
		if (jb == "") continue
		out = panel("d", "d-" rws[r], rwname(rws[r]) ", " bslabel(jbs[jb]) ", queue depth 1", "")
		row = "percentile"; for (j = 1; j <= nser; j++) row = row "\t" (clabel[ser[j]] != "" ? clabel[ser[j]] : ser[j])
		print row > out
		for (p = 1; p <= npl; p++) {
			row = pl[p]
			for (j = 1; j <= nser; j++) row = row "\t" lmedian(ser[j], jb, pl[p])
			print row > out
		}
		close(out); done++
	}
	if (!done) { out = panel("d", "d-none", "no queue-depth-1 read job in this run", ""); print "percentile" > out; close(out) }
}

# sortpct: the percentiles seen (pl[1..npl]) in increasing order.
function sortpct(   i, j, x) {
	for (i = 2; i <= npl; i++) { x = pl[i]; for (j = i - 1; j > 0 && pl[j] + 0 > x + 0; j--) pl[j + 1] = pl[j]; pl[j + 1] = x }
}

# lmedian(c, j, p): the median over the repetitions of configuration c on job j of its lat percentile p, µs.
function lmedian(c, j, p,   n, i, k, x, a) {
	n = nL[c, j, p]
	if (!n) return "NaN"
	for (i = 1; i <= n; i++) { x = L[c, j, p, i] + 0; for (k = i - 1; k > 0 && a[k] > x; k--) a[k + 1] = a[k]; a[k + 1] = x }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# per_workload(fig, name, title, med, pre, conv, ylabel): a panel with a row per key workload and a bar per
# series: summary column med with pre "_min" and pre "_max" as the error bars; conv "ns" turns IOPS into ns per
# I/O (10^9 / IOPS: the fastest repetition gives the low end).
function per_workload(fig, name, title, med, pre, conv, ylabel,   i, j, k, out, row) {
	out = panel(fig, name, title, ylabel)
	print head_row("workload") > out
	for (i = 1; i <= nkey; i++) {
		row = wlabel(key[i])
		for (j = 1; j <= nser; j++) { k = ser[j] SUBSEP key[i]
			if (conv == "ns") row = row "\t" ns(S[k, med]) "\t" ns(S[k, pre "_max"]) "\t" ns(S[k, pre "_min"])
			else row = row "\t" v(S[k, med]) "\t" v(S[k, pre "_min"]) "\t" v(S[k, pre "_max"]) }
		print row > out
	}
	close(out)
}

# fig_e: host CPU time from one source for every configuration (perf stat task-clock of the whole process):
# per I/O, and as cores busy.
function fig_e() {
	series("all")
	per_workload("e", "e-cpu", "host CPU per I/O (perf task-clock)", "host_cpu_us_per_io", "host_cpu_us_per_io", "", "µs per I/O")
	per_workload("e", "e-busy", "cores busy (task-clock / wall time)", "cores_busy", "cores_busy", "", "cores busy")
}

# fig_f: IOPS and time per I/O (10^9 / IOPS) by workload and configuration, absolute (the null study).
function fig_f() {
	series("all")
	per_workload("f", "f-iops", "I/Os per second", "iops_median", "iops", "", "I/Os per second")
	per_workload("f", "f-ns", "time per I/O (10^9 / IOPS)", "iops_median", "iops", "ns", "ns per I/O")
}

# fig_g: a CPU-bound loop's rate beside the I/O as % of its rate alone (the neighbour study), one panel per
# workload: a row per configuration (X-same and X-other count as X), bars for the loop on the same vCPU
# between I/Os (loop_same_pct) and on the other vCPU while the I/O runs (loop_other_pct).
function fig_g(   i, j, c, b, nb, bl, bseen, sc, oc, out, row, done) {
	nser = 2; nsolid = 2; colours = wcolours(2)
	for (j = 1; j <= nkey; j++) {
		nb = 0; split("", bseen); split("", sc); split("", oc)
		for (i = 1; i <= ncfg; i++) {
			c = cfg[i]
			if (S[c, key[j], "loop_same_pct"] == "" && S[c, key[j], "loop_other_pct"] == "") continue
			b = c; sub(/-(same|other)$/, "", b)
			if (!(b in bseen)) { bseen[b] = 1; bl[++nb] = b }
			if (S[c, key[j], "loop_same_pct"] != "") sc[b] = c
			if (S[c, key[j], "loop_other_pct"] != "") oc[b] = c
		}
		if (nb == 0) continue
		out = panel("g", "g-" key[j], "a CPU-bound loop beside the I/O (" key[j] ")", "")
		print "configuration\tsame vCPU, between I/Os\tlow\thigh\tother vCPU, while the I/O runs\tlow\thigh" > out
		for (i = 1; i <= nb; i++) {
			b = bl[i]; row = b
			row = row "\t" gv(sc[b], key[j], "loop_same_pct") "\t" gv(oc[b], key[j], "loop_other_pct")
			print row > out
		}
		close(out); done++
	}
	if (!done) { out = panel("g", "g-none", "no neighbour measurements in this run (experiments/studies/neighbour.ini)", "")
		print "configuration\tsame vCPU, between I/Os\tlow\thigh\tother vCPU, while the I/O runs\tlow\thigh" > out; close(out) }
}

# fig_h: the load study: host CPU per I/O and latency (p50, p99) against the I/Os per second each configuration
# carried, one line per configuration through the run's 4 KiB random-read jobs (offered at fixed rates,
# rate_iops, then saturated at queue depth 1 and 32), log-log. Only for a run with an offered-rate job
# (a job named ...-NNNiops). Data: a row per job, each series' x (IOPS) and y.
function fig_h(   i, n, jl, nl, out) {
	for (i = 1; i <= njob; i++) if (jobs[i] ~ /-[0-9]+iops(-[a-z]+)?$/) n++
	if (!n) { nser = nsolid = 0; colours = ""
		out = panel("h", "h-none", "no offered-rate jobs in this run (experiments/studies/load.ini)", "")
		print "I/Os per second" > out; close(out); return }
	for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == "randread" && jbs[jobs[i]] == 4096) jl[++nl] = jobs[i]
	series("all")
	load_panel("h-cpu", "host CPU per I/O (perf task-clock)", "host_cpu_us_per_io", "µs per I/O", jl, nl)
	load_panel("h-p50", "latency p50 (submission to completion)", "lat_p50_us_median", "µs", jl, nl)
	load_panel("h-p99", "latency p99", "lat_p99_us_median", "µs", jl, nl)
}

function load_panel(name, title, m, ylabel, jl, nl,   out, i, j, row) {
	out = panel("h", name, title, ylabel)
	row = "I/Os per second"
	for (j = 1; j <= nser; j++) row = row "\t" (clabel[ser[j]] != "" ? clabel[ser[j]] : ser[j]) "\ty"
	print row > out
	for (i = 1; i <= nl; i++) {
		row = jl[i]
		# a point needs both: no y, no x (a panel without any point is left out)
		for (j = 1; j <= nser; j++) row = row "\t" (S[ser[j], jl[i], m] == "" ? "NaN" : v(S[ser[j], jl[i], "iops_median"])) \
			"\t" v(S[ser[j], jl[i], m])
		print row > out
	}
	close(out)
}

# gv(c, j, m): "median<TAB>min<TAB>max" of metric m of configuration c on job j, NaN when c is empty.
function gv(c, j, m) { return c == "" ? "NaN\tNaN\tNaN" : v(S[c, j, m]) "\t" v(S[c, j, m "_min"]) "\t" v(S[c, j, m "_max"]) }

function ns(iops) { return iops == "" || iops + 0 <= 0 ? "NaN" : sprintf("%.1f", 1e9 / iops) }

END {
	if (bad) exit 2
	printf "" > (dir "/panels.tsv")
	compact()
	keyjobs()
	fig_a(); fig_b(); fig_c(); fig_d(); fig_e(); fig_f(); fig_g(); fig_h()
}
