# plots/common.gp - terminal, fonts and colours shared by every figure (loaded by bars.gp).
# Needs: term (png | svg | pdf), out (output file).

if (term eq "png") {
	set terminal pngcairo size 1600,1000 font "DejaVu Sans,14" noenhanced
} else {
	if (term eq "svg") {
		set terminal svg size 1600,1000 dynamic font "DejaVu Sans,14" background "white" noenhanced
	} else {
		set terminal pdfcairo size 10in,6.25in font "DejaVu Sans,9" noenhanced
	}
}
set output out
set encoding utf8

# one colour per configuration, in study order (1 is bare metal); colour-blind-safe first (Okabe-Ito)
set linetype 1 lc rgb "#555555" lw 1.5
set linetype 2 lc rgb "#D55E00" lw 1.5
set linetype 3 lc rgb "#E69F00" lw 1.5
set linetype 4 lc rgb "#009E73" lw 1.5
set linetype 5 lc rgb "#0072B2" lw 1.5
set linetype 6 lc rgb "#CC79A7" lw 1.5
set linetype 7 lc rgb "#56B4E9" lw 1.5
set linetype 8 lc rgb "#F0E442" lw 1.5
set linetype 9 lc rgb "#000000" lw 1.5
set linetype 10 lc rgb "#8C564B" lw 1.5
set linetype 11 lc rgb "#7F7F7F" lw 1.5
set linetype 12 lc rgb "#BCBD22" lw 1.5
set linetype cycle 12
