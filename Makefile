# Makefile - entry points of exitless: all, deps, test, clean (more arrive as they work).
# Each component keeps its own flat fragment (*.mk) included here.

BUILD    ?= build
CC       ?= gcc
WERROR   ?= 1
SANITIZE ?= 0

.PHONY: all deps test clean
all:

include mk/deps.mk
include tests/tests.mk
include vmm/vmm.mk
include guest-kernel/guest.mk
include guest-linux/linux.mk
include workloads/workloads.mk
include guest-kernel/drivers/drivers.mk
include experiments/experiments.mk
include fuzz/fuzz.mk

# The hostile and fault suites run on this host against build/san/vmm (AddressSanitizer + UBSan: tests/run).
# The Linux guest image is built for the suites that boot it in the SVM rig (skipped with EXITLESS_SVM=0).
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san SANITIZE=1 $(BUILD)/san/vmm
	@[ "$${EXITLESS_SVM:-1}" = 0 ] || $(MAKE) --no-print-directory linux-guest
	@tests/run

clean:
	rm -rf $(BUILD)
