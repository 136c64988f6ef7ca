# plots/bars.gp - clustered bar panels with error bars, one shared legend on top and a caption below.
# Loaded by the figure scripts after they set their labels. Variables (set by plots/plot):
#   panels   data files, one per panel (tab-separated: cluster label, then value/low/high per series)
#   ptitles  panel titles (quoted words);  stitles  series titles (quoted words)
#   pylabels y-axis label of each panel (quoted words; "" keeps the figure's ylab); pxlabels x-axis label of
#            each panel (the data's first column header)
#   nser     series per panel; nsolid: the first nsolid series are solid bars, the rest (QEMU) hatched
#   colours  the RGB colour of each series ("#RRGGBB" words: a configuration keeps its colour everywhere)
#   caption  the caption (lines separated by "\n");  W, H  size in inches;  cols  panels per row
#   legend_h, cap_h  heights of the legend and the caption, inches;  legend_cols  legend entries a row
#   bmarg    the panels' bottom margin, character heights (room for the cluster labels)
#   pymin, pymax  each panel's y range (words; "-" = automatic);  ref  y of a dashed reference line ("" = none);
#   reflabel  its text
# And from the figure script: ylab (the y-axis label), logy (1: log scale), values (1: each bar's value
# printed above it, a zero as "0" at the bottom of a log axis), xrot (degrees to turn the cluster labels).

load plotdir . "/common.gp"

# the colour of series i (an empty iteration still evaluates it once, past the last series)
colour(i) = i <= words(colours) ? word(colours, i) : "#000000"

np = words(panels)
rows = (np + cols - 1) / cols
ph = (1.0 - (legend_h + cap_h) / H) / rows
pw = 1.0 / cols
bw = 0.8 / nser
# x of series i in cluster (row) r, and the bar's base (the bottom of a log axis, else 0)
bx(r, i) = r + (i - (nser + 1) / 2.0) * bw
ybase = 0
# a value as printed on its bar: 3 significant digits from 0.01 up, else 2 and the exponent ("2.2e-5")
vexp(v) = floor(log10(v) + 1e-9)
vlab(v) = (v != v) ? "" : (v == 0 ? "0" : (v >= 0.01 ? sprintf("%.3g", v) : sprintf("%.2ge%d", v / 10.0 ** vexp(v), vexp(v))))
# where a value's label goes: above its error bar, or at the bottom for a zero
top(v, hi) = v == 0 ? ybase : (hi > v ? hi : v)

set datafile separator "\t"
set datafile missing "NaN"
set datafile columnheaders
set grid ytics lc rgb "#dddddd" dt 1
set border 3
set tics nomirror
set xtics scale 0
set key noautotitle
set autoscale xfix
set offsets 0.12, 0.12, 0, 0
if (xrot != 0) { set xtics rotate by xrot right } else { set xtics norotate }
if (logy) { set logscale y; set format y "%g" } else { unset logscale y; set format y "%g" }
# the reference line; its meaning is a legend entry
if (ref ne "") { set arrow 1 from graph 0, first (ref + 0) to graph 1, first (ref + 0) nohead dt 2 lw 1 lc rgb "black" front }
set style fill solid 0.85 border lc rgb "#333333"

set multiplot
do for [p = 1:np] {
	set origin ((p - 1) % cols) * pw, cap_h / H + (rows - 1 - (p - 1) / cols) * ph
	set size pw, ph
	set bmargin bmarg
	set title word(ptitles, p) offset 0, -0.6
	yl = word(pylabels, p)
	if ((p - 1) % cols == 0 || yl ne "") { set ylabel (yl ne "" ? yl : ylab) } else { unset ylabel }
	# the x label of the bottom row (none for workloads, whose two-line names say what they are, nor under
	# turned labels, which say it too)
	if ((p - 1) / cols == rows - 1 && word(pxlabels, p) ne "workload" && xrot == 0) { set xlabel word(pxlabels, p) } else { unset xlabel }
	f = word(panels, p)
	if (word(pymin, p) ne "-") { set yrange [word(pymin, p) + 0 : word(pymax, p) + 0] } else { set yrange [*:*] }
	ybase = logy ? word(pymin, p) + 0 : 0
	plot f using 0:(NaN):xtic(1) notitle, \
	     for [i = 1:nsolid] f using (bx($0, i)):(column(3 * i - 1)):(bx($0, i) - bw / 2):(bx($0, i) + bw / 2):(ybase):(column(3 * i - 1)) \
		with boxxyerror lc rgb colour(i) fs solid 0.85, \
	     for [i = nsolid + 1:nser] f using (bx($0, i)):(column(3 * i - 1)):(bx($0, i) - bw / 2):(bx($0, i) + bw / 2):(ybase):(column(3 * i - 1)) \
		with boxxyerror lc rgb colour(i) fs pattern 4, \
	     for [i = 1:nser] f using (bx($0, i)):(column(3 * i)):(0):(column(3 * i + 1) - column(3 * i)) \
		with vectors nohead lw 0.8 lc rgb "#222222", \
	     for [i = 1:(values ? nser : 0)] f using (bx($0, i)):(top(column(3 * i - 1), column(3 * i + 1))):(vlab(column(3 * i - 1))) \
		with labels rotate by 90 left offset 0, 0.3 tc rgb "#222222"
}

unset arrow; unset label; unset title; unset xlabel; unset ylabel; unset grid; unset logscale y
unset border; unset tics; set bmargin 0; set tmargin 0; set lmargin 0; set rmargin 0; set offsets 0, 0, 0, 0
set xrange [0:1]; set yrange [0:1]
legend_kind = "bars"
load plotdir . "/legend.gp"

# the caption
set origin 0, 0
set size 1, cap_h / H
unset key
set label 2 caption at screen 0.01, screen (cap_h - 0.04) / H left front
plot NaN notitle
unset multiplot
