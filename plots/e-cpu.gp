# plots/e-cpu.gp - figure (e): host CPU time per I/O, per workload and configuration. VMM configurations:
# every VMM thread over the measured window (stats.json); bare metal and QEMU: perf stat task-clock of the
# whole process. Error bars: min and max over repetitions.
set xlabel "workload"
set ylabel "host CPU time per I/O, µs"
ref = ""
reflabel = ""
logy = 0
load plotdir . "/bars.gp"
