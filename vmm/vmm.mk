# vmm/vmm.mk - builds build/vmm and the VMM's unit tests.

VMM_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -MMD -MP -D_GNU_SOURCE -Ivmm -Ilib -Iinclude -Itests
ifeq ($(WERROR),1)
VMM_CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
VMM_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
VMM_LDFLAGS += -fsanitize=address,undefined
endif
VMM_LDLIBS := -luring -lpthread

# Objects are rebuilt when the flags change (e.g. SANITIZE=1 after a plain build).
VMM_FLAGS_STAMP := $(BUILD)/obj/vmm/.flags
$(shell mkdir -p $(BUILD)/obj/vmm; echo '$(VMM_CFLAGS) $(VMM_LDFLAGS)' | cmp -s - $(VMM_FLAGS_STAMP) || echo '$(VMM_CFLAGS) $(VMM_LDFLAGS)' >$(VMM_FLAGS_STAMP))

VMM_LIB_SRCS := vmm/err.c vmm/guest_mem.c vmm/pvh.c vmm/bus.c vmm/serial.c vmm/kvm.c vmm/vcpu.c \
		vmm/machine.c vmm/options.c vmm/modes.c vmm/thread.c vmm/stats.c vmm/stats_kvm.c vmm/stats_json.c \
		vmm/virtio_dev.c lib/json.c \
		vmm/virtio_mmio.c vmm/virtqueue.c vmm/blk.c vmm/backend.c vmm/backend_uring.c vmm/emu.c \
		vmm/iocore.c vmm/pollwin.c vmm/sandbox.c vmm/acpi.c vmm/aml.c vmm/layout.c vmm/virtio_transport.c \
		vmm/pci.c vmm/msix.c vmm/irq.c vmm/virtio_pci.c
VMM_LIB_OBJS := $(VMM_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
VMM_TEST_SRCS := $(wildcard vmm/tests/unit-*.c)
VMM_TESTS := $(VMM_TEST_SRCS:vmm/tests/%.c=$(BUILD)/tests/%)

all: $(BUILD)/vmm $(VMM_TESTS)

$(BUILD)/obj/vmm/%.o: vmm/%.c $(VMM_FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -c $< -o $@

$(BUILD)/obj/lib/%.o: lib/%.c $(VMM_FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -c $< -o $@

$(BUILD)/obj/vmm/tests/%.o: vmm/tests/%.c $(VMM_FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -c $< -o $@

$(BUILD)/vmm: $(BUILD)/obj/vmm/main.o $(VMM_LIB_OBJS)
	$(CC) $(VMM_LDFLAGS) $^ -o $@ $(VMM_LDLIBS)

$(BUILD)/tests/unit-%: $(BUILD)/obj/vmm/tests/unit-%.o $(VMM_LIB_OBJS) $(TAP_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(VMM_LDFLAGS) $^ -o $@ $(VMM_LDLIBS)

-include $(wildcard $(BUILD)/obj/vmm/*.d $(BUILD)/obj/vmm/tests/*.d $(BUILD)/obj/lib/*.d)

# A minimal PVH guest for the VMM's own tests.
all: $(BUILD)/tests/mini-guest.elf
$(BUILD)/tests/mini-guest.elf: vmm/tests/mini-guest.S vmm/tests/mini-guest.ld
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $(BUILD)/obj/mini-guest.o
	ld -m elf_x86_64 -nostdlib --build-id=none -T vmm/tests/mini-guest.ld $(BUILD)/obj/mini-guest.o -o $@
