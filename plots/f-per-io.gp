# plots/f-per-io.gp - figure (f): the I/O path's cost, absolute: I/Os per second and the time per I/O
# (10^9 / IOPS, ns) by workload and configuration, log scale; made for the null study (no data moved), where
# there is no bare-metal line to divide by. Each panel names its unit (pylabels). Error bars: min and max.
ylab = ""
ref = ""
reflabel = ""
logy = 1
values = 0
xrot = 0
load plotdir . "/bars.gp"
