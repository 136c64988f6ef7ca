# plots/lines.gp - latency distributions as lines, one panel per workload, one line per series, a shared
# legend on top and a caption below. Loaded by d-latency.gp. Variables (set by plots/plot, as for bars.gp):
#   panels, ptitles, stitles, nser, nsolid (QEMU lines dashed after it), colours, caption, W, H, cols,
#   legend_h, cap_h; data: a header row (percentile, then one title per series), then a row per percentile:
#   the percentile (50, 99.9, ...) and each series' latency in µs (NaN: not measured).
# The y axis is the percentile on a "nines" scale, -log10(1 - p/100), so the tail (99, 99.9, 99.99) gets as
# much room as the body; x is the latency, log scale.

load plotdir . "/common.gp"

# the colour of series i (an empty iteration still evaluates it once, past the last series)
colour(i) = i <= words(colours) ? word(colours, i) : "#000000"

np = words(panels)
rows = (np + cols - 1) / cols
ph = (1.0 - (legend_h + cap_h) / H) / rows
pw = 1.0 / cols
nines(p) = -log10(1 - p / 100.0)

set datafile separator "\t"
set datafile missing "NaN"
set datafile columnheaders
set grid xtics ytics lc rgb "#dddddd" dt 1
set border 3
set tics nomirror
set key noautotitle
set logscale x
set format x "%g"
set yrange [0:4.2]
set ytics ("0" 0, "50" nines(50), "90" nines(90), "99" nines(99), "99.9" nines(99.9), "99.99" nines(99.99))

set multiplot
do for [p = 1:np] {
	set origin ((p - 1) % cols) * pw, cap_h / H + (rows - 1 - (p - 1) / cols) * ph
	set size pw, ph
	set title word(ptitles, p) offset 0, -0.6
	if ((p - 1) % cols == 0) { set ylabel ylab } else { unset ylabel }
	if ((p - 1) / cols == rows - 1) { set xlabel xlab } else { unset xlabel }
	f = word(panels, p)
	plot for [i = 1:nsolid] f using (column(i + 1)):(nines(column(1))) with linespoints \
		lc rgb colour(i) dt 1 lw 1.2 pt 7 ps 0.35, \
	     for [i = nsolid + 1:nser] f using (column(i + 1)):(nines(column(1))) with linespoints \
		lc rgb colour(i) dt 2 lw 1.2 pt 7 ps 0.35
}

unset title; unset xlabel; unset ylabel; unset grid; unset logscale x
unset border; unset tics; set bmargin 0; set tmargin 0; set lmargin 0; set rmargin 0
set xrange [0:1]; set yrange [0:1]
reflabel = ""
legend_kind = "lines"
load plotdir . "/legend.gp"

set origin 0, 0
set size 1, cap_h / H
unset key
set label 2 caption at screen 0.01, screen (cap_h - 0.04) / H left front
plot NaN notitle
unset multiplot
