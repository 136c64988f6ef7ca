# experiments/lib/compare.sh - the A/B comparison of two runs of the same cells, shared by experiments/compare
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# (two finished runs) and ci/perf-ab (two revisions run interleaved): the samples of each side from the runs'
# results.csv, the test (lib/permutation.awk), the table, the JSON. See docs/perf-ab.md.

CMP_ALPHA=0.01      # a timing changed when p < CMP_ALPHA ...
CMP_RESAMPLES=9999  # ... by a permutation test with this many resamples (exact below that many arrangements)
CMP_SEED=1          # the test's generator seed: the same runs give the same p
CMP_FLOORS=""       # "metric=pct,...": effect-size floors overriding the table's

# compare_metrics: the metrics compared: name, kind (stat: permutation test and floor; count: strict bound),
# which direction is better, the default floor in % (for a count: the tolerance above 0.01 per I/O).
compare_metrics() {
	cat <<-'EOF'
	iops	stat	higher	5
	lat_mean_ns	stat	lower	5
	lat_p50_ns	stat	lower	5
	cpu_us_per_io	stat	lower	5
	host_cpu_us_per_io	stat	lower	5
	exits_per_io	count	lower	2
	irqs_per_io	count	lower	2
	notifies_per_io	count	lower	2
	wakeups_per_io	count	lower	2
	EOF
}

# compare_floor_add METRIC=PCT: one more floor override (exit 2 on an unknown metric or a bad number).
compare_floor_add() {
	local m=${1%%=*} v=${1#*=}
	[[ "$1" == *=* ]] || die "--floor $1: expected METRIC=PERCENT, e.g. iops=3"
	compare_metrics | cut -f1 | grep -qx -- "$m" ||
		die "--floor $1: unknown metric $m (known: $(compare_metrics | cut -f1 | tr '\n' ' '))"
	[[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--floor $1: expected a percentage, e.g. $m=3"
	CMP_FLOORS+="${CMP_FLOORS:+,}$m=$v"
}

# compare_samples RUN SIDE: "cell<TAB>metric<TAB>SIDE<TAB>value", one line per repetition and metric, from the
# run's results.csv (collected first when missing); wake-ups per I/O derived from the device counters; the
# perf-stat CPU figure only where the VMM's own accounting is missing.
compare_samples() {
	local run=$1 side=$2
	[ -f "$run/results.csv" ] || "$ROOT/experiments/collect" "$run" >/dev/null
	awk -F, -v side="$side" -v want="$(compare_metrics | cut -f1 | tr '\n' ' ')" '
	BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
	NR == 1 { next }
	{ k = $2 SUBSEP $5; if (!(k in seen)) { seen[k] = 1; key[++nk] = k }; v[k, $6] = $7 }
	END {
		for (i = 1; i <= nk; i++) {
			k = key[i]; split(k, p, SUBSEP)
			if ((k, "devices_wakeups") in v && v[k, "ios"] > 0) v[k, "wakeups_per_io"] = v[k, "devices_wakeups"] / v[k, "ios"]
			if ((k, "cpu_us_per_io") in v) delete v[k, "host_cpu_us_per_io"]
			for (j = 1; j <= n; j++) if ((k, w[j]) in v) printf "%s\t%s\t%s\t%s\n", p[1], w[j], side, v[k, w[j]]
		}
	}' "$run/results.csv"
}

# compare_runs RUN_A RUN_B: the checks (lib/permutation.awk's lines) of every cell both runs have.
compare_runs() {
	awk -F'\t' -v alpha="$CMP_ALPHA" -v resamples="$CMP_RESAMPLES" -v seed="$CMP_SEED" -v floors="$CMP_FLOORS" \
		-f "$ROOT/experiments/lib/permutation.awk" <(compare_metrics) \
		<(compare_samples "$1" A; compare_samples "$2" B)
}

# compare_table CHECKS: the table (cell, metric, A, B, change, p, verdict) and a note per cell whose samples
# cannot reach the threshold.
compare_table() {
	awk -F'\t' -v alpha="$CMP_ALPHA" '
	function num(v) { return v == "" ? "-" : sprintf((v >= 1000 || v <= -1000) ? "%.0f" : "%.4g", v) }
	{ w = length($1) > w ? length($1) : w; line[NR] = $0 }
	END {
		if (w < 4) w = 4
		printf "%-" w "s  %-18s %12s %12s %8s %8s  %s\n", "cell", "metric", "A", "B", "change", "p", "verdict"
		for (i = 1; i <= NR; i++) {
			split(line[i], f, "\t")
			p = f[3] == "count" ? "count" : (f[7] < 0.0001 ? "<0.0001" : sprintf("%.4f", f[7]))
			printf "%-" w "s  %-18s %12s %12s %8s %8s  %s\n", f[1], f[2], num(f[4]), num(f[5]),
				(f[6] == "" ? "-" : sprintf("%+.1f%%", f[6])), p, f[11] (f[12] == "" ? "" : " (" f[12] " by a re-run of " f[9] " against " f[10] ")")
			if (f[11] == "untestable" && !((f[1], "u") in told)) { told[f[1], "u"] = 1; k = f[9] " against " f[10]; if (!(k in cnt)) { ks[++nk] = k; mp[k] = f[8] }; cnt[k]++ }
		}
		# the smallest equal number of rounds whose exact test can reach alpha: 2 / C(2n, n) < alpha
		for (need = 2; ; need++) { c = 1; for (j = 1; j <= need; j++) c = c * (need + j) / j; if (2 / c < alpha) break }
		for (i = 1; i <= nk; i++)
			printf "note: %s samples cannot reach p < %s (the smallest p they allow is %.3g; %d cells): run %d rounds or more (--reps)\n", ks[i], alpha, mp[ks[i]], cnt[ks[i]], need
	}' "$1"
}

# compare_json CHECKS HEAD_JSON: the JSON document (format 1): HEAD_JSON's fields, the test's settings, every
# check, the number of regressions.
compare_json() {
	jq -Rn --argjson head "$2" --arg alpha "$CMP_ALPHA" --arg resamples "$CMP_RESAMPLES" --arg seed "$CMP_SEED" \
		--arg floors "$CMP_FLOORS" '
	def num: if . == "" then null else tonumber end;
	[inputs | split("\t") | {cell: .[0], metric: .[1], kind: .[2], a: (.[3] | num), b: (.[4] | num),
		change_pct: (.[5] | num), p: (.[6] | num), min_p: (.[7] | num), n_a: (.[8] | num), n_b: (.[9] | num),
		verdict: .[10]} + (if .[11] then {rerun: .[11]} else {} end)] as $checks |
	{format: 1} + $head + {alpha: ($alpha | tonumber), resamples: ($resamples | tonumber), seed: ($seed | tonumber),
	 floors_override: ($floors | split(",") | map(select(length > 0) | split("=") | {(.[0]): (.[1] | tonumber)}) | add // {}),
	 checks: $checks, regressions: ([$checks[] | select(.verdict == "REGRESSION")] | length)}' <"$1"
}

# compare_summary PROG CHECKS: the last line, "PROG: N checks, N regressions"; status 1 on a regression.
compare_summary() {
	local n bad
	n=$(wc -l <"$2")
	bad=$(awk -F'\t' '$11 == "REGRESSION"' "$2" | wc -l)
	echo "$1: $n checks, $bad regressions"
	[ "$bad" -eq 0 ]
}

# compare_settings_check: CMP_ALPHA, CMP_RESAMPLES and CMP_SEED are usable (exit 2 otherwise).
compare_settings_check() {
	[[ "$CMP_ALPHA" =~ ^0?\.[0-9]+$ ]] || die "--alpha $CMP_ALPHA: expected a probability such as 0.01"
	if ! [[ "$CMP_RESAMPLES" =~ ^[0-9]+$ ]] || [ "$CMP_RESAMPLES" -lt 9999 ]; then
		die "--resamples $CMP_RESAMPLES: expected at least 9999"
	fi
	[[ "$CMP_SEED" =~ ^[0-9]+$ ]] || die "--seed $CMP_SEED: expected a non-negative integer"
}

# compare_failures RUN_A RUN_B: a check per cell with failed repetitions on either side: more failures in B
# than in A is a regression (a crash or a timeout is worse than any slowdown).
compare_failures() {
	local f side run
	for side in A B; do
		run=$1
		[ "$side" = A ] || run=$2
		for f in "$run"/cells/*/*/rep*/status; do
			[ -f "$f" ] || continue
			f=${f#"$run"/cells/}
			printf '%s\t%s\t%s\n' "${f%/rep*}" "$side" "$(awk '{ print $1; exit }' "$run/cells/$f")"
		done
	done | awk -F'\t' -v OFS='\t' '
	{ if (!($1 in seen)) { seen[$1] = 1; c[++n] = $1 }; tot[$1, $2]++; if ($3 != "ok") bad[$1, $2]++ }
	END {
		for (i = 1; i <= n; i++) {
			a = bad[c[i], "A"] + 0; b = bad[c[i], "B"] + 0
			if (a || b) print c[i], "failed_reps", "count", a, b, "", "", "", tot[c[i], "A"] + 0, tot[c[i], "B"] + 0, (b > a ? "REGRESSION" : "ok")
		}
	}'
}
