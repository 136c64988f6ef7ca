# plots/g-neighbour.gp - figure (g): the progress of a CPU-bound loop in the guest beside the I/O, as % of the
# same loop's rate with no I/O (the neighbour study): on the same vCPU between I/Os, and on the other vCPU.
# Error bars: min and max over repetitions.
ylab = "% of the loop alone"
ref = "100"
reflabel = "the loop alone"
logy = 0
values = 0
xrot = 30
load plotdir . "/bars.gp"
