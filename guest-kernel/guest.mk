# guest-kernel/guest.mk - builds the PVH guest kernel $(BUILD)/guest.elf and the mini libc's unit test.
# Included from the top Makefile; also usable alone: make -f guest-kernel/guest.mk
#
# Other components add guest code (the fio engine, the virtio-blk driver) by appending source paths,
# from any fragment included before or after this one:
#     GUEST_EXTRA_SRCS += workloads/engine.c
# They are compiled with GUEST_CFLAGS (include paths: guest-kernel/, lib/, include/) into $(BUILD)/guest/.

BUILD  ?= build
CC     ?= gcc
WERROR ?= 1

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -MMD -MP \
	-ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -mno-red-zone -mgeneral-regs-only \
	-fcf-protection=none -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
	-m64 -Iguest-kernel -Ilib -Iinclude
GUEST_LDFLAGS := -nostdlib -static -no-pie --build-id=none -z noexecstack -z max-page-size=4096 \
	-T guest-kernel/guest.ld

GUEST_SRCS := guest-kernel/entry.S guest-kernel/isr.S \
	$(filter-out guest-kernel/tests/%,$(wildcard guest-kernel/*.c)) lib/string.c lib/fmt.c
GUEST_EXTRA_SRCS ?=
GUEST_TEST_SRCS ?=

# Deferred (secondary expansion) so that GUEST_EXTRA_SRCS appended by later fragments is seen; $(sort)
# drops a source listed twice (it would link twice).
guest_objs = $(patsubst %,$(BUILD)/guest/%.o,$(basename $(GUEST_SRCS) $(sort $(filter-out $(GUEST_SRCS),$(GUEST_EXTRA_SRCS)))))
guest_test_objs = $(patsubst %,$(BUILD)/guest/%.o,$(basename $(sort $(GUEST_TEST_SRCS))))

.PHONY: all guest
all: $(BUILD)/guest.elf $(BUILD)/guest-hostile.elf $(BUILD)/tests/unit-klib $(BUILD)/tests/unit-kcmd $(BUILD)/tests/unit-json
guest: $(BUILD)/guest.elf

.SECONDEXPANSION:
$(BUILD)/guest.elf: $$(guest_objs) guest-kernel/guest.ld guest-kernel/guest.mk guest-kernel/drivers/drivers.mk
	$(LD) $(GUEST_LDFLAGS) -o $@ $(guest_objs)

# The same guest with the self-tests that misbehave on purpose (GUEST_TEST_SRCS).
$(BUILD)/guest-hostile.elf: $$(guest_objs) $$(guest_test_objs) guest-kernel/guest.ld guest-kernel/guest.mk guest-kernel/drivers/drivers.mk
	$(LD) $(GUEST_LDFLAGS) -o $@ $(guest_objs) $(guest_test_objs)

$(BUILD)/guest/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/guest/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

# The mini libc on the host, renamed (klib_*) and compared against the host libc: TAP on stdout.
$(BUILD)/tests/unit-klib: lib/tests/unit-klib.c lib/string.c lib/fmt.c lib/klib.h tests/tap.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Wno-format-truncation $(if $(filter 1,$(WERROR)),-Werror) \
		-DKLIB_RENAME -Ilib -Itests -o $@ lib/tests/unit-klib.c lib/string.c lib/fmt.c tests/tap.c

# The JSON writer (shared by the guest engine and the VMM) on the host: TAP on stdout.
$(BUILD)/tests/unit-json: lib/tests/unit-json.c lib/json.c lib/json.h tests/tap.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Ilib -Itests -o $@ \
		lib/tests/unit-json.c lib/json.c tests/tap.c

# The command-line parser on the host, with the renamed mini libc.
$(BUILD)/tests/unit-kcmd: guest-kernel/tests/unit-kcmd.c guest-kernel/cmdline.c lib/string.c lib/fmt.c lib/klib.h \
		guest-kernel/kernel.h guest-kernel/guest.h guest-kernel/syscall.h tests/tap.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -DKLIB_RENAME -Iguest-kernel -Ilib -Iinclude -Itests \
		-o $@ guest-kernel/tests/unit-kcmd.c guest-kernel/cmdline.c lib/string.c lib/fmt.c tests/tap.c

-include $(shell find $(BUILD)/guest -name '*.d' 2>/dev/null)
