# plots/b-technique.gp - figure (b): the benefit of each technique, in percentage points of bare-metal
# throughput: a switch turned on alone in the baseline, "(baseline)": variant - baseline; turned off alone in
# full, "(full)": full - variant. One bar per workload; error bars: min and max over paired repetitions.
unset xlabel
set ylabel "throughput gain, percentage points of bare metal"
ref = "0"
reflabel = ""
logy = 0
set xtics rotate by 25 right font ",12"
load plotdir . "/bars.gp"
