# plots/data.awk - the data files of the figures, from a run's cells.tsv, summary.csv and results.csv.
# Writes DIR/<panel>.dat (tab-separated, a header row naming the series, then rows of value/low/high triples)
# and DIR/panels.tsv: figure, data file, panel title, series count, solid-bar count, colour list.
# Variables: dir (output folder). POSIX awk (mawk).

BEGIN { FS = "\n"; floor_exits = 1e-4 }
FNR == 1 { file++ }
file == 1 { cells_row(); next }
file == 2 { if (FNR > 1) summary_row(); else header(); next }
file == 3 { if (FNR > 1) result_row(); else columns(rcol, ",", "config job rep metric value"); next }

# cells.tsv, summary.csv and results.csv are read by the names of their header rows, not by position.
function cells_row(   f, c, j, k, i) {
	if (FNR == 1) { columns(ccol, "\t", "config kind label request emulation completion poll_us job rw bs iodepth"); return }
	split($0, f, "\t")
	c = f[ccol["config"]]; j = f[ccol["job"]]
	if (!(c in cidx)) { ncfg++; cfg[ncfg] = c; cidx[c] = ncfg; ckind[c] = f[ccol["kind"]]; clabel[c] = f[ccol["label"]]
		split("request emulation completion poll_us", k, " ")
		for (i = 1; i <= 4; i++) sw[c, k[i]] = f[ccol[k[i]]] }
	if (!(j in jidx)) { njob++; jobs[njob] = j; jidx[j] = njob; jrw[j] = f[ccol["rw"]]; jbs[j] = f[ccol["bs"]]; jqd[j] = f[ccol["iodepth"]] }
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

function result_row(   f, c, j, r) {
	split($0, f, ",")
	c = f[rcol["config"]]; j = f[rcol["job"]]; r = f[rcol["rep"]]
	if (f[rcol["metric"]] == "pct_of_bare") { P[c, j, r] = f[rcol["value"]]; prep[j, r] = 1 }
}

function v(x) { return x == "" ? "NaN" : x }
function bslabel(b) { return b >= 1048576 && b % 1048576 == 0 ? (b / 1048576) "M" : (b >= 1024 && b % 1024 == 0 ? (b / 1024) "k" : b) }
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
	for (i = 1; i <= nser; i++) colours = colours (i > 1 ? " " : "") cidx[ser[i]]
}

function head_row(first,   i, s) {
	s = first
	for (i = 1; i <= nser; i++) s = s "\t" (clabel[ser[i]] != "" ? clabel[ser[i]] : ser[i]) "\tlow\thigh"
	return s
}

function panel(fig, name, title) {
	printf "%s\t%s/%s.dat\t%s\t%d\t%d\t%s\n", fig, dir, name, title, nser, nsolid, colours > (dir "/panels.tsv")
	return dir "/" name ".dat"
}

# fig_a: % of bare metal by block size, one panel per access pattern and queue depth.
function fig_a(   r, q, i, j, k, out, row, seen, rws, nrw, qds, nqd, bl, nb, t, done) {
	series("vmm")
	nrw = split("read randread", rws, " ")
	for (i = 1; i <= njob; i++) if (!((jqd[jobs[i]]) in seen)) { seen[jqd[jobs[i]]] = 1; qds[++nqd] = jqd[jobs[i]] }
	for (r = 1; r <= nrw; r++) for (q = 1; q <= nqd; q++) {
		nb = 0
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == rws[r] && jqd[jobs[i]] == qds[q]) bl[++nb] = jobs[i]
		if (nb == 0) continue
		sortjobs(bl, nb)
		out = panel("a", "a-" rws[r] "-qd" qds[q], rwname(rws[r]) ", queue depth " qds[q])
		print head_row("block size") > out
		for (i = 1; i <= nb; i++) {
			row = bslabel(jbs[bl[i]])
			for (j = 1; j <= nser; j++) { k = ser[j] SUBSEP bl[i]; row = row "\t" v(S[k, "pct_of_bare"]) "\t" v(S[k, "pct_of_bare_min"]) "\t" v(S[k, "pct_of_bare_max"]) }
			print row > out
		}
		close(out); done++
	}
	if (!done) { out = panel("a", "a-none", "no sequential or random read jobs in this run"); print head_row("block size") > out; close(out) }
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
	nser = nkey; nsolid = nkey; colours = ""
	for (i = 1; i <= nkey; i++) colours = colours (i > 1 ? " " : "") (i + 1)
	out = panel("b", "b-technique", "benefit of each technique, switch: from → to   (baseline): turned on alone in the baseline;  (full): turned off alone in full mode")
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

# fig_c: VM exits per I/O by configuration (log scale: zero drawn at the floor).
function fig_c(   i, j, c, k, out, row, x) {
	series("exits"); nser = nkey; nsolid = nkey; colours = ""
	for (i = 1; i <= nkey; i++) colours = colours (i > 1 ? " " : "") (i + 1)
	out = panel("c", "c-exits", "VM exits per I/O (below 1e-4, zero included, drawn at 1e-4)")
	print job_header("configuration") > out
	for (i = 1; i <= ncfg; i++) {
		c = cfg[i]
		if (ckind[c] != "vmm") continue
		row = c
		for (j = 1; j <= nkey; j++) { k = c SUBSEP key[j]
			row = row "\t" cl(S[k, "exits_per_io"]) "\t" cl(S[k, "exits_per_io_min"]) "\t" cl(S[k, "exits_per_io_max"]) }
		print row > out
	}
	close(out)
}
function cl(x) { return x == "" ? "NaN" : (x + 0 < floor_exits ? floor_exits : x) }

# fig_d: completion-latency percentiles at queue depth 1, smallest block size, per access pattern.
function fig_d(   r, rws, i, j, jb, out, row, p, ps, np, k, done) {
	series("all"); np = split("p50 p90 p99 p99.9", ps, " ")
	split("randread read", rws, " ")
	for (r = 1; r <= 2; r++) {
		jb = ""
		for (i = 1; i <= njob; i++) if (jrw[jobs[i]] == rws[r] && jqd[jobs[i]] == 1 && (jb == "" || jbs[jobs[i]] + 0 < jbs[jb] + 0)) jb = jobs[i]
		if (jb == "") continue
		out = panel("d", "d-" rws[r], rwname(rws[r]) ", " bslabel(jbs[jb]) ", queue depth 1 (" jb ")")
		print head_row("percentile") > out
		for (p = 1; p <= np; p++) {
			row = ps[p]
			for (j = 1; j <= nser; j++) { k = ser[j] SUBSEP jb
				row = row "\t" v(S[k, "clat_" ps[p] "_us_median"]) "\t" v(S[k, "clat_" ps[p] "_us_min"]) "\t" v(S[k, "clat_" ps[p] "_us_max"]) }
			print row > out
		}
		close(out); done++
	}
	if (!done) { out = panel("d", "d-none", "no queue-depth-1 read job in this run"); print head_row("percentile") > out; close(out) }
}

# per_workload(fig, name, title, med, pre, conv): a panel with a row per key workload and a bar per series:
# summary column med with pre "_min" and pre "_max" as the error bars; conv "ns" turns IOPS into ns per I/O
# (10^9 / IOPS: the fastest repetition gives the low end).
function per_workload(fig, name, title, med, pre, conv,   i, j, k, out, row) {
	out = panel(fig, name, title)
	print head_row("workload") > out
	for (i = 1; i <= nkey; i++) {
		row = key[i]
		for (j = 1; j <= nser; j++) { k = ser[j] SUBSEP key[i]
			if (conv == "ns") row = row "\t" ns(S[k, med]) "\t" ns(S[k, pre "_max"]) "\t" ns(S[k, pre "_min"])
			else row = row "\t" v(S[k, med]) "\t" v(S[k, pre "_min"]) "\t" v(S[k, pre "_max"]) }
		print row > out
	}
	close(out)
}

# fig_e: host CPU time per I/O by workload and configuration.
function fig_e() {
	series("all")
	per_workload("e", "e-cpu", "host CPU time per I/O (VMM: all its threads over the measured window; bare metal, QEMU: whole process, perf stat)", "cpu_us_per_io", "cpu_us_per_io", "")
}

# fig_f: IOPS and time per I/O (10^9 / IOPS) by workload and configuration, absolute (the null study).
function fig_f() {
	series("all")
	per_workload("f", "f-iops", "I/Os per second (median; error bars: min, max)", "iops_median", "iops", "")
	per_workload("f", "f-ns", "time per I/O, ns (10^9 / IOPS)", "iops_median", "iops", "ns")
}

# fig_g: a CPU-bound loop's rate beside the I/O as % of its rate alone (the neighbour study), one panel per
# workload: a row per configuration (X-same and X-other count as X), bars for the loop on the same vCPU
# between I/Os (loop_same_pct) and on the other vCPU while the I/O runs (loop_other_pct).
function fig_g(   i, j, c, b, nb, bl, bseen, sc, oc, out, row, done) {
	nser = 2; nsolid = 2; colours = "2 3"
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
		out = panel("g", "g-" key[j], "a CPU-bound loop beside the I/O, % of the loop alone (" key[j] ")")
		print "configuration\tsame vCPU, between I/Os\tlow\thigh\tother vCPU, while the I/O runs\tlow\thigh" > out
		for (i = 1; i <= nb; i++) {
			b = bl[i]; row = b
			row = row "\t" gv(sc[b], key[j], "loop_same_pct") "\t" gv(oc[b], key[j], "loop_other_pct")
			print row > out
		}
		close(out); done++
	}
	if (!done) { out = panel("g", "g-none", "no neighbour measurements in this run (experiments/studies/neighbour.ini)")
		print "configuration\tsame vCPU, between I/Os\tlow\thigh\tother vCPU, while the I/O runs\tlow\thigh" > out; close(out) }
}

# gv(c, j, m): "median<TAB>min<TAB>max" of metric m of configuration c on job j, NaN when c is empty.
function gv(c, j, m) { return c == "" ? "NaN\tNaN\tNaN" : v(S[c, j, m]) "\t" v(S[c, j, m "_min"]) "\t" v(S[c, j, m "_max"]) }

function ns(iops) { return iops == "" || iops + 0 <= 0 ? "NaN" : sprintf("%.1f", 1e9 / iops) }

END {
	if (bad) exit 2
	printf "" > (dir "/panels.tsv")
	compact()
	keyjobs()
	fig_a(); fig_b(); fig_c(); fig_d(); fig_e(); fig_f(); fig_g()
}
