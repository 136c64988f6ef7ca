# fuzz/fuzz.mk - libFuzzer targets build/fuzz/fuzz-*, `make fuzz`, and the crash replayer build/tests/unit-fuzz-regress.
# Included from the top Makefile (-include fuzz/fuzz.mk).
#
#   make fuzz [FUZZ_SECONDS=60]   runs each target that long; crash inputs land in fuzz/crashes/
#   make fuzz-seeds               rewrites the generated seeds of fuzz/corpus/ (fuzz/seeds.c, the
#                                 mini guest, the shipped job files)
# The targets need clang and its libFuzzer runtime (Debian: libclang-rt-14-dev); without them `all`
# skips them and fuzz/tests/fuzz.bats skips. unit-fuzz-regress needs only $(CC) with ASan and UBSan.

BUILD        ?= build
CC           ?= gcc
WERROR       ?= 1
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60

FUZZ_TARGETS := fuzz-vq fuzz-mmio fuzz-pci fuzz-elf fuzz-job
FUZZ_SRCS    := fuzz/fuzz_dev.c fuzz/fuzz_vq.c fuzz/fuzz_mmio.c fuzz/fuzz_pci.c fuzz/fuzz_files.c
# The code under test: the VMM's sources (from the archive the link takes only what the targets reach:
# no KVM) and the engine built hosted. A device reset waits for the emulation context, which the targets
# run by hand: emu_quiesce is wrapped (fuzz_dev.c).
FUZZ_UUT_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c)) $(wildcard workloads/engine/*.c) lib/json.c
FUZZ_LDLIBS  := -Wl,--wrap=emu_quiesce -luring -lpthread

FUZZ_BASE  := -std=gnu11 -g -O1 -D_GNU_SOURCE -MMD -MP -fno-omit-frame-pointer -Wall -Wextra \
	      -Ivmm -Iinclude -Itests -Iworkloads/engine -Ilib
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_WERR  := $(if $(filter 1,$(WERROR)),-Werror)
FUZZ_RT    := $(wildcard $(shell $(FUZZ_CC) --print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a)
FUZZ_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

# Two builds of the same sources: build/fuzz/obj (clang, coverage for libFuzzer) and build/fuzz/replay
# ($(CC), sanitizers only). The code under test is not built with -Werror here: the normal build
# holds it to that, and another compiler's extra warnings must not break `make all`.
FUZZ_OBJ    := $(BUILD)/fuzz/obj
FUZZ_ROBJ   := $(BUILD)/fuzz/replay
FUZZ_LIB    := $(FUZZ_OBJ)/libfuzz.a
FUZZ_RLIB   := $(FUZZ_ROBJ)/libfuzz.a

.PHONY: all fuzz fuzz-build fuzz-seeds
all: $(BUILD)/tests/unit-fuzz-regress
ifeq ($(FUZZ_RT),)
fuzz fuzz-build:
	@echo "fuzz: clang's libFuzzer runtime is missing: install clang and libclang-rt-14-dev (make deps)" >&2; exit 2
else
all: $(FUZZ_BINS)
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@fuzz/run $(FUZZ_SECONDS) $(BUILD)/fuzz/corpus $(FUZZ_TARGETS)
endif

$(FUZZ_OBJ)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_BASE) $(FUZZ_WERR) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_BASE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

# A static pattern: only these objects (a plain pattern would also offer to build X.d.o from entry.c).
$(FUZZ_TARGETS:%=$(FUZZ_OBJ)/entry-%.o): $(FUZZ_OBJ)/entry-%.o: fuzz/entry.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_BASE) $(FUZZ_WERR) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-DFUZZ_TARGET=$(subst -,_,$*) -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(FUZZ_SRCS) $(FUZZ_UUT_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz-%: $(FUZZ_OBJ)/entry-fuzz-%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LDLIBS)

$(FUZZ_ROBJ)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(FUZZ_BASE) $(FUZZ_WERR) $(FUZZ_SAN) -c $< -o $@

$(FUZZ_ROBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(FUZZ_BASE) $(FUZZ_SAN) -c $< -o $@

$(FUZZ_RLIB): $(patsubst %.c,$(FUZZ_ROBJ)/%.o,$(FUZZ_SRCS) $(FUZZ_UUT_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/unit-fuzz-regress: $(FUZZ_ROBJ)/fuzz/entry.o $(FUZZ_RLIB) $(FUZZ_ROBJ)/tests/tap.o
	@mkdir -p $(@D)
	$(CC) $(FUZZ_SAN) $^ -o $@ $(FUZZ_LDLIBS)

# Seeds: the generated ring and register sequences, the mini guest, the shipped job files.
$(BUILD)/fuzz/fuzz-seeds: fuzz/seeds.c fuzz/fuzz.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Ivmm -Iinclude -Itests $(FUZZ_WERR) $< -o $@

fuzz-seeds: $(BUILD)/fuzz/fuzz-seeds $(BUILD)/tests/mini-guest.elf
	$(BUILD)/fuzz/fuzz-seeds fuzz/corpus
	cp $(BUILD)/tests/mini-guest.elf fuzz/corpus/fuzz-elf/mini-guest.elf
	cp workloads/jobs/*.fio fuzz/corpus/fuzz-job/

-include $(shell find $(FUZZ_OBJ) $(FUZZ_ROBJ) -name '*.d' 2>/dev/null)
