# experiments/lib/permutation.awk - compares two sides (A, B) of every cell and metric: counts by their medians
# against a strict bound, timings by a permutation test on the difference of means with an effect-size floor.
# Input 1: the metric table (metric, kind stat|count, better higher|lower, floor %), see lib/compare.sh.
# Input 2: samples "cell<TAB>metric<TAB>side<TAB>value", side A or B, one line per round.
# Variables: alpha (threshold of p), resamples (Monte Carlo resamples when the exact test has more
# arrangements), seed (the generator's seed: a run is reproducible), floors ("metric=pct,..." overrides).
# Output, one line per check: cell, metric, kind, a, b, change_pct, p, min_p, n_a, n_b, verdict
# (ok, better, REGRESSION, untestable: min_p, the smallest p the samples allow, is not below alpha).
# POSIX awk (mawk): the generator is a 32-bit LCG computed exactly in doubles, the same in every awk.

BEGIN {
	FS = OFS = "\t"
	for (i = 0; i < 256; i++) ord[sprintf("%c", i)] = i
}

FNR == NR {
	if ($1 !~ /^#/ && NF >= 4) { kind[$1] = $2; better[$1] = $3; floor[$1] = $4; order[++nmet] = $1 }
	next
}

($2 in kind) && ($3 == "A" || $3 == "B") && $4 != "" {
	k = $1 SUBSEP $2
	if (!(k in seen)) { seen[k] = 1; keys[++nkeys] = k }
	n[k, $3]++; x[k, $3, n[k, $3]] = $4 + 0
}

# rnd(m): an integer in [0, m) from the generator (its high bits).
function rnd(m) {
	S = (1664525 * S + 1013904223) % 4294967296
	return int(S / 4294967296 * m)
}

# hash(s): a number from a string, to give every test its own stream of the generator.
function hash(s,   i, h) {
	h = 0
	for (i = 1; i <= length(s); i++) h = (h * 31 + ord[substr(s, i, 1)]) % 4294967296
	return h
}

function choose(nn, kk,   i, r) {
	r = 1
	for (i = 1; i <= kk; i++) r = r * (nn - kk + i) / i
	return r
}

# ptest(k): the two-sided p of mean(B) - mean(A) over pool[1..N] (A first): exact over every arrangement
# when there are at most EXACT_MAX of them (or `resamples`: 10 against 10 rounds take 0.3 s), else Monte Carlo
# with `resamples` draws, (1 + hits) / (R + 1).
function ptest(k, na, nb,   N, T, obs, tol, hits, total, i, j, sa, d, t, idx, w) {
	N = na + nb; T = 0
	for (i = 1; i <= N; i++) T += pool[i]
	sa = 0; for (i = 1; i <= na; i++) sa += pool[i]
	obs = (T - sa) / nb - sa / na
	obs = obs < 0 ? -obs : obs
	tol = 1e-9 * (obs > 0 ? obs : 1)
	hits = total = 0
	if (choose(N, na) <= exact_max()) {
		for (i = 1; i <= na; i++) idx[i] = i
		while (1) {
			sa = 0; for (i = 1; i <= na; i++) sa += pool[idx[i]]
			d = (T - sa) / nb - sa / na; if (d < 0) d = -d
			total++; if (d >= obs - tol) hits++
			for (i = na; i >= 1 && idx[i] == N - na + i; i--) ;
			if (i < 1) break
			idx[i]++; for (j = i + 1; j <= na; j++) idx[j] = idx[j - 1] + 1
		}
		return hits / total
	}
	S = (seed + hash(k)) % 4294967296
	for (t = 1; t <= resamples; t++) {
		for (i = 1; i <= N; i++) w[i] = pool[i]
		sa = 0
		for (i = 1; i <= na; i++) { j = i + rnd(N - i + 1); d = w[i]; w[i] = w[j]; w[j] = d; sa += w[i] }
		d = (T - sa) / nb - sa / na; if (d < 0) d = -d
		if (d >= obs - tol) hits++
	}
	return (1 + hits) / (resamples + 1)
}

function exact_max() { return resamples > 200000 ? resamples : 200000 }

# min_p(na, nb): the smallest p the test can give (complete separation of distinct values).
function min_p(na, nb,   c) {
	c = choose(na + nb, na)
	if (c > exact_max()) return 1 / (resamples + 1)
	return (na == nb ? 2 : 1) / c
}

function median(k, side, m,   i, j, v, a) {
	for (i = 1; i <= m; i++) {
		v = x[k, side, i]
		for (j = i - 1; j > 0 && a[j] > v; j--) a[j + 1] = a[j]
		a[j + 1] = v
	}
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}

function mean(k, side, m,   i, s) {
	s = 0; for (i = 1; i <= m; i++) s += x[k, side, i]
	return s / m
}

# count_check: a count compared by its medians, no test: a rise of more than max(0.01 per I/O, floor % of A)
# is a regression, a fall as large is better.
function count_check(k, c, m, na, nb, fl,   a, b, worse, lim, v) {
	a = median(k, "A", na); b = median(k, "B", nb)
	worse = better[m] == "lower" ? b - a : a - b
	lim = a * fl / 100; if (lim < 0.01) lim = 0.01
	v = worse > lim ? "REGRESSION" : (-worse > lim ? "better" : "ok")
	print c, m, "count", a, b, (a != 0 ? 100 * (b - a) / a : ""), "", "", na, nb, v
}

# check(k): one output line for cell and metric k.
function check(k,   c, m, na, nb, a, b, ch, p, mp, fl, worse, v, i) {
	split(k, part, SUBSEP); c = part[1]; m = part[2]
	na = n[k, "A"]; nb = n[k, "B"]
	if (!na || !nb) return
	fl = (m in over) ? over[m] : floor[m]
	if (kind[m] == "count") return count_check(k, c, m, na, nb, fl)
	a = mean(k, "A", na); b = mean(k, "B", nb)
	ch = a != 0 ? 100 * (b - a) / a : 0
	for (i = 1; i <= na; i++) pool[i] = x[k, "A", i]
	for (i = 1; i <= nb; i++) pool[na + i] = x[k, "B", i]
	p = ptest(k, na, nb); mp = min_p(na, nb)
	worse = better[m] == "higher" ? -ch : ch
	if (mp >= alpha) v = "untestable"
	else if (p < alpha && worse >= fl) v = "REGRESSION"
	else if (p < alpha && -worse >= fl) v = "better"
	else v = "ok"
	print c, m, "stat", a, b, ch, p, mp, na, nb, v
}

END {
	nover = split(floors, ov, ",")
	for (i = 1; i <= nover; i++) if (split(ov[i], kv, "=") == 2) over[kv[1]] = kv[2] + 0
	# cells in input order, metrics in table order
	for (i = 1; i <= nkeys; i++) { split(keys[i], part, SUBSEP); if (!(part[1] in cseen)) { cseen[part[1]] = 1; cl[++nc] = part[1] } }
	for (i = 1; i <= nc; i++) for (j = 1; j <= nmet; j++) if ((cl[i] SUBSEP order[j]) in seen) check(cl[i] SUBSEP order[j])
}
