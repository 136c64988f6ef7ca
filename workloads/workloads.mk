# workloads/workloads.mk - the fio job engine: host tools, unit tests, and ENGINE_SRCS for the guest build.
# Included from the top Makefile. The guest links the engine with: GUEST_EXTRA_SRCS += $(ENGINE_SRCS)
# (compiled freestanding against lib/klib.h; see workloads/README.md for the interface).

BUILD  ?= build
CC     ?= gcc
WERROR ?= 1

ENGINE_SRCS := $(addprefix workloads/engine/,options.c jobfile.c offsets.c rate.c stats.c verify.c report.c \
	ioloop.c engine.c) lib/json.c
export ENGINE_SRCS

WL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -MMD -MP -D_GNU_SOURCE \
	-Iworkloads/engine -Ilib -Itests -Iinclude
ifeq ($(SANITIZE),1)
WL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
WL_LDFLAGS += -fsanitize=address,undefined
endif
# The guest's flags, to prove on every build that the engine stays freestanding (no float, no libgcc).
WL_FREE_CFLAGS := -std=gnu11 -O2 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -ffreestanding -fno-builtin \
	-mno-red-zone -mgeneral-regs-only -fcf-protection=none -fno-pic -fno-pie -fno-stack-protector -Ilib -Iinclude
# What the freestanding objects may leave undefined: klib.h's functions.
WL_FREE_ALLOWED := memcpy memmove memset memcmp strlen strcmp strncmp strchr vsnprintf snprintf

WL_OBJS      := $(ENGINE_SRCS:%.c=$(BUILD)/host/%.o)
WL_FREE_OBJS := $(ENGINE_SRCS:%.c=$(BUILD)/host/freestanding/%.o)
WL_TEST_SRCS := $(wildcard workloads/tests/*.c)
WL_TEST_OBJS := $(WL_TEST_SRCS:%.c=$(BUILD)/host/%.o)

# Hosted objects are rebuilt when the flags change (e.g. SANITIZE=1 after a plain build), as in vmm.mk.
WL_FLAGS_STAMP := $(BUILD)/host/.flags
$(shell mkdir -p $(BUILD)/host; echo '$(WL_CFLAGS) $(WL_LDFLAGS)' | cmp -s - $(WL_FLAGS_STAMP) || echo '$(WL_CFLAGS) $(WL_LDFLAGS)' >$(WL_FLAGS_STAMP))

.PHONY: all engine-freestanding
all: $(BUILD)/engine-host $(BUILD)/imgcheck $(BUILD)/tests/unit-engine $(BUILD)/host/engine-freestanding.ok
engine-freestanding: $(BUILD)/host/engine-freestanding.ok

$(BUILD)/host/workloads/%.o: workloads/%.c $(WL_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(WL_CFLAGS) -c -o $@ $<

$(BUILD)/host/lib/%.o: lib/%.c $(WL_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(WL_CFLAGS) -c -o $@ $<

$(BUILD)/host/freestanding/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(WL_FREE_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/host/engine-freestanding.ok: $(WL_FREE_OBJS)
	@ld -r -o $(BUILD)/host/freestanding/engine.o $^
	@bad=$$(nm -u $(BUILD)/host/freestanding/engine.o | awk 'NF == 2 { print $$2 }' | \
		grep -vxF $(addprefix -e ,$(WL_FREE_ALLOWED)) || true); \
	if [ -n "$$bad" ]; then echo "engine: freestanding objects need symbols klib lacks:" $$bad >&2; exit 1; fi
	@touch $@

$(BUILD)/engine-host: $(BUILD)/host/workloads/tools/engine-host.o $(WL_OBJS)
	$(CC) $(WL_LDFLAGS) -o $@ $^

$(BUILD)/imgcheck: $(BUILD)/host/workloads/tools/imgcheck.o $(WL_OBJS)
	$(CC) $(WL_LDFLAGS) -o $@ $^

$(BUILD)/tests/unit-engine: $(WL_TEST_OBJS) $(WL_OBJS) $(TAP_OBJ)
	@mkdir -p $(@D)
	$(CC) $(WL_LDFLAGS) -o $@ $^

-include $(shell find $(BUILD)/host -name '*.d' 2>/dev/null)
