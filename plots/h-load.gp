# plots/h-load.gp - figure (h): the load study (experiments/studies/load.ini): host CPU per I/O and latency
# against the I/Os per second each configuration carried (offered at fixed rates, then saturated), log-log, one
# line per configuration (QEMU dashed), a shared legend on top and a caption below. Variables as for lines.gp;
# data: a header row (then per series its title and "y"), then a row per job: its name and each series' x
# (IOPS) and y (NaN: not measured).
xlab = "I/Os per second carried (offered rate, then saturated)"
load plotdir . "/common.gp"

colour(i) = i <= words(colours) ? word(colours, i) : "#000000"
np = words(panels)
rows = (np + cols - 1) / cols
ph = (1.0 - (legend_h + cap_h) / H) / rows
pw = 1.0 / cols

set datafile separator "\t"
set datafile missing "NaN"
set datafile columnheaders
set grid xtics ytics lc rgb "#dddddd" dt 1
set border 3
set tics nomirror
set key noautotitle
set logscale xy
set format x "%g"
set format y "%g"

set multiplot
do for [p = 1:np] {
	set origin ((p - 1) % cols) * pw, cap_h / H + (rows - 1 - (p - 1) / cols) * ph
	set size pw, ph
	set title word(ptitles, p) offset 0, -0.6
	set ylabel word(pylabels, p)
	if ((p - 1) / cols == rows - 1 || p + cols > np) { set xlabel xlab } else { unset xlabel }
	f = word(panels, p)
	plot for [i = 1:nsolid] f using (column(2 * i)):(column(2 * i + 1)) with linespoints \
		lc rgb colour(i) dt 1 lw 1.2 pt 7 ps 0.35, \
	     for [i = nsolid + 1:nser] f using (column(2 * i)):(column(2 * i + 1)) with linespoints \
		lc rgb colour(i) dt 2 lw 1.2 pt 7 ps 0.35
}

unset title; unset xlabel; unset ylabel; unset grid; unset logscale xy
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
