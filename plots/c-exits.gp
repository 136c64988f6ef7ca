# plots/c-exits.gp - figure (c): guest-caused VM exits per I/O, one bar per configuration (one colour each,
# as in every figure), one cluster per workload, log scale down to a decade below the smallest count, so that
# full mode's few exits per 100,000 I/Os have a height; each bar's value printed above it, a zero printed as
# "0" at the bottom of the axis. Error bars: min and max over repetitions.
ylab = "exits per I/O"
ref = "1"
reflabel = "1 exit per I/O"
logy = 1
values = 1
xrot = 0
load plotdir . "/bars.gp"
