# experiments/experiments.mk - make reproduce, plots and bench (included from the top Makefile).
#   make reproduce [QUICK=1] [DISK=/dev/...|IMAGE_SIZE=4G] [REPS=N]   paper + ablation studies (QUICK=1: quick)
#   make plots RUN=results/<run>                                       redraw the figures of a run
#   make bench [REPS=N] [DISK=...]                                     full and baseline against bare metal

EXP_ARGS = $(if $(DISK),--disk $(DISK)) $(if $(IMAGE_SIZE),--image-size $(IMAGE_SIZE)) $(if $(REPS),--reps $(REPS))

.PHONY: reproduce plots bench
reproduce: deps all
	@experiments/reproduce $(if $(filter 1 yes true,$(QUICK)),--quick) $(EXP_ARGS)

plots: deps all
	@test -n "$(RUN)" || { echo "make plots: name the run, e.g. make plots RUN=results/latest-paper" >&2; exit 2; }
	@plots/plot $(RUN)

bench: deps all
	@experiments/bench $(EXP_ARGS)
