# plots/bars.gp - clustered bar panels with error bars, one shared legend on top and a caption line below.
# Loaded by the figure scripts after they set the axis labels. Variables (set by plots/plot):
#   panels   data files, one per panel (tab-separated: label column, then value/low/high per series)
#   ptitles  panel titles (quoted words);  stitles  series titles (quoted words)
#   nser     series per panel; nsolid: the first nsolid series are solid bars, the rest (QEMU) hatched
#   colours  linetype of each series;  caption  text of the caption line
#   ymin, ymax  y range ("" = automatic);  logy  1 for a log scale;  ref  y of a dashed reference line ("" = none)
#   reflabel  text next to the reference line

load plotdir . "/common.gp"

np = words(panels)
cols = (np > 1) ? 2 : 1
rows = (np + cols - 1) / cols
legend_h = 0.11
cap_h = 0.05
ph = (1.0 - legend_h - cap_h) / rows
pw = 1.0 / cols

set datafile separator "\t"
set datafile missing "NaN"
set datafile columnheaders
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set boxwidth 0.92
set grid ytics lc rgb "#dddddd" dt 1
set border 3
set tics nomirror
set xtics scale 0
set key noautotitle
if (logy) { set logscale y; set format y "%g" } else { unset logscale y }
if (ymin ne "" && ymax ne "") { set yrange [ymin + 0 : ymax + 0] } else { if (logy) { set yrange [*:*] } else { set yrange [0:*] } }
if (ref ne "") {
	set arrow 1 from graph 0, first (ref + 0) to graph 1, first (ref + 0) nohead dt 2 lw 2 lc rgb "black" front
	set label 1 reflabel at graph 0.995, first (ref + 0) right offset 0, 0.6 front font ",11"
}

set multiplot
do for [p = 1:np] {
	set origin ((p - 1) % cols) * pw, cap_h + (rows - 1 - (p - 1) / cols) * ph
	set size pw, ph
	set title word(ptitles, p)
	f = word(panels, p)
	if (nsolid < nser) {
		plot for [i = 1:nsolid] f using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
			lt (word(colours, i) + 0) fs solid 0.85 border lc rgb "#333333", \
		     for [i = nsolid + 1:nser] f using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
			lt (word(colours, i) + 0) fs pattern 4 border lc rgb "#333333"
	} else {
		plot for [i = 1:nser] f using (column(3 * i - 1)):(column(3 * i)):(column(3 * i + 1)):xtic(1) \
			lt (word(colours, i) + 0) fs solid 0.85 border lc rgb "#333333"
	}
}

# the shared legend: invisible points drawn with each series' style
unset arrow; unset label; unset title; unset xlabel; unset ylabel; unset grid; unset logscale y
unset border; unset tics; set bmargin; set tmargin; set lmargin; set rmargin
set origin 0, 1.0 - legend_h
set size 1, legend_h
set xrange [0:1]; set yrange [0:1]
set key center center horizontal maxrows 2 samplen 2.5 spacing 1.2 width 2 font ",13"
set style data boxes
if (nsolid < nser) {
	plot for [i = 1:nsolid] NaN with boxes fs solid 0.85 lt (word(colours, i) + 0) title word(stitles, i), \
	     for [i = nsolid + 1:nser] NaN with boxes fs pattern 4 lt (word(colours, i) + 0) title word(stitles, i)
} else {
	plot for [i = 1:nser] NaN with boxes fs solid 0.85 lt (word(colours, i) + 0) title word(stitles, i)
}

# the caption line
set origin 0, 0
set size 1, cap_h
unset key
set label 2 caption at screen 0.01, screen 0.02 left font ",10"
plot NaN notitle
unset multiplot
