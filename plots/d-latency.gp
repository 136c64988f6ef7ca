# plots/d-latency.gp - figure (d): completion-latency percentiles at queue depth 1, per configuration,
# bare metal included; error bars: min and max over repetitions.
set xlabel "percentile"
set ylabel "completion latency, µs (log scale)"
ref = ""
reflabel = ""
logy = 1
load plotdir . "/bars.gp"
