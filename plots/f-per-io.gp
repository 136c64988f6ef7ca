# plots/f-per-io.gp - figure (f): the I/O path's cost per I/O, absolute: I/Os per second and the time per I/O
# (10^9 / IOPS, ns) by workload and configuration, log scale; made for the null study (no data moved), where
# there is no bare-metal line to divide by. Error bars: min and max over repetitions.
set xlabel "workload"
set ylabel "log scale"
ref = ""
reflabel = ""
logy = 1
load plotdir . "/bars.gp"
