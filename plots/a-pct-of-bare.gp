# plots/a-pct-of-bare.gp - figure (a), the paper's figure: throughput as % of bare metal at its best (the
# faster of the bare-metal configurations, workload by workload) by block size, sequential and random reads,
# one panel per pattern and queue depth, one bar per configuration (QEMU hatched); error bars: the extremes
# of the per-repetition ratios. Run through plots/plot.
ylab = "% of bare metal"
ref = "100"
reflabel = "bare metal, best = 100"
logy = 0
values = 0
xrot = 0
load plotdir . "/bars.gp"
