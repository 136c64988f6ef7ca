# plots/common.gp - terminal and fonts shared by every figure (loaded by bars.gp and lines.gp).
# Needs: term (png | svg | pdf), out (output file), W and H (the figure's size in inches: 3.4 for one column
# of a paper, 7 for both). Every text is 8 pt at that size: the PDF is drawn at its printed size, the SVG at
# 72 px per inch, the PNG at 200 px per inch with fonts and lines scaled alike (pngcairo sets text at 96
# pixels per inch of its own), so all three look the same.

dpi = 200.0
if (term eq "png") {
	set terminal pngcairo size W * dpi, H * dpi font "DejaVu Sans,8" fontscale dpi / 96 linewidth dpi / 96 noenhanced
} else {
	if (term eq "svg") {
		set terminal svg size W * 72, H * 72 dynamic font "DejaVu Sans,8" background "white" noenhanced
	} else {
		set terminal pdfcairo size W * 1in, H * 1in font "DejaVu Sans,8" linewidth 1 noenhanced
	}
}
set output out
set encoding utf8
