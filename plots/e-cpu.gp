# plots/e-cpu.gp - figure (e): host CPU time, one source for every row (perf stat task-clock of the whole
# process: fio, build/vmm with all its threads and device processes, QEMU), per I/O (cores busy / IOPS) and as
# cores busy (task-clock / wall time), by workload and configuration. Error bars: min and max over repetitions.
ylab = "µs per I/O"
ref = ""
reflabel = ""
logy = 0
values = 0
xrot = 0
load plotdir . "/bars.gp"
