# plots/b-technique.gp - figure (b): the benefit of each technique, in percentage points of bare-metal
# throughput: a switch turned on alone in the baseline, "(baseline)": variant - baseline; turned off alone in
# full, "(full)": full - variant. One bar per workload; error bars: min and max over paired repetitions.
ylab = "gain (points of %)"
ref = "0"
reflabel = ""
logy = 0
values = 0
xrot = 30
load plotdir . "/bars.gp"
