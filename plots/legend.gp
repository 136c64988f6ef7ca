# plots/legend.gp - the shared legend of a figure, laid out here rather than by gnuplot's key (whose width
# estimate leaves long titles one to a row): legend_cols entries a row, in the band of height legend_h at the
# top, a sample and the series title each; the reference line's entry last. Sets objects and labels only: the
# next plot draws them. Needs nser, nsolid, stitles, colour(i), reflabel, W, H, legend_h, legend_cols and
# legend_kind ("bars": filled boxes, hatched after nsolid; "lines": a line with a point, dashed after nsolid).

lg_colw = (W - 0.2) / legend_cols
lg_x(k) = (0.1 + ((k - 1) % legend_cols) * lg_colw) / W
lg_y(k) = (H - 0.09 - ((k - 1) / legend_cols) * 0.145) / H
lg_n = nser + (reflabel ne "" ? 1 : 0)
do for [k = 1:lg_n] {
	x0 = lg_x(k); y0 = lg_y(k); x1 = x0 + 0.17 / W; yl = y0 - 0.035 / H; yh = y0 + 0.035 / H
	if (k > nser) {
		set arrow 100 + k from screen x0, screen y0 to screen x1, screen y0 nohead dt 2 lw 1 lc rgb "black" front
		set label 100 + k reflabel at screen x1 + 0.05 / W, screen y0 left front
	} else {
		if (legend_kind eq "lines") {
			if (k > nsolid) {
				set arrow 100 + k from screen x0, screen y0 to screen x1, screen y0 nohead lw 1.2 lc rgb colour(k) dt 2 front
			} else {
				set arrow 100 + k from screen x0, screen y0 to screen x1, screen y0 nohead lw 1.2 lc rgb colour(k) dt 1 front
			}
			set object 100 + k circle at screen (x0 + x1) / 2, screen y0 size screen 0.02 / W fc rgb colour(k) fs solid front
		} else {
			if (k > nsolid) {
				set object 100 + k rect from screen x0, screen yl to screen x1, screen yh fc rgb colour(k) fs pattern 4 border lc rgb "#333333" front
			} else {
				set object 100 + k rect from screen x0, screen yl to screen x1, screen yh fc rgb colour(k) fs solid 0.85 border lc rgb "#333333" front
			}
		}
		set label 100 + k word(stitles, k) at screen x1 + 0.05 / W, screen y0 left front
	}
}
