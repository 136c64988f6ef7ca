# plots/d-latency.gp - figure (d): the latency distribution at queue depth 1 of every configuration, bare
# metal included: fio's lat (submission to completion, the same span for bare metal and guests; clat starts
# after the submitting system call, which the guest does not make), median of each percentile over the
# repetitions, on a "nines" axis (lines.gp).
xlab = "latency, submission to completion (µs)"
ylab = "percentile"
load plotdir . "/lines.gp"
