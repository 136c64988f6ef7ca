# plots/a-pct-of-bare.gp - figure (a), the paper's figure: throughput as % of bare metal by block size for
# sequential and random reads, one bar per configuration (QEMU hatched), error bars from the repetitions
# (min and max of the per-repetition ratios). Run through plots/plot.
set xlabel "block size"
set ylabel "throughput, % of bare metal"
ref = "100"
reflabel = "bare metal"
logy = 0
load plotdir . "/bars.gp"
