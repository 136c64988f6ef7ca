# plots/c-exits.gp - figure (c): VM exits per I/O by configuration, log scale (a count below 1e-4 per I/O,
# zero included, is drawn at 1e-4), one bar per workload, error bars: min and max over repetitions.
set xlabel "configuration"
set ylabel "VM exits per I/O (log scale)"
ref = "1"
reflabel = "1 exit per I/O"
logy = 1
load plotdir . "/bars.gp"
