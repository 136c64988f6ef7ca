# guest-kernel/drivers/drivers.mk - adds the virtio transports (mmio, pci), the virtio-blk driver, the job application and the fio engine to the guest.
# Included by the top Makefile with workloads/workloads.mk (ENGINE_SRCS) and guest-kernel/guest.mk, in any order:
# guest.mk expands GUEST_EXTRA_SRCS only when it links.

GUEST_DRIVER_SRCS := guest-kernel/drivers/vdev.c guest-kernel/drivers/virtio_mmio.c guest-kernel/drivers/virtio_pci.c \
	guest-kernel/drivers/acpi.c guest-kernel/drivers/pci.c guest-kernel/drivers/virtq.c \
	guest-kernel/drivers/virtio_blk.c guest-kernel/app/app.c

# The hostile-guest self-tests (test=hostile-*) go into build/guest-hostile.elf only, never the production guest.
GUEST_TEST_SRCS += guest-kernel/drivers/hostile.c guest-kernel/drivers/hostile_probe.c \
	guest-kernel/drivers/hostile_ring.c guest-kernel/drivers/hostile_regs.c guest-kernel/drivers/hostile_frame.c \
	guest-kernel/drivers/hostile_pci.c

# The engine's sources, unless a fragment included earlier already added them (a source listed twice would
# be linked twice). ENGINE_SRCS itself is expanded late, so workloads.mk may come after this file.
drivers_prev_srcs := $(GUEST_EXTRA_SRCS)
GUEST_EXTRA_SRCS += $(GUEST_DRIVER_SRCS) $(filter-out $(drivers_prev_srcs),$(ENGINE_SRCS))

# The application includes the driver's and the engine's headers. A target-specific append, so it holds
# whatever the include order (guest.mk sets GUEST_CFLAGS with :=).
$(BUILD)/guest/guest-kernel/app/app.o: GUEST_CFLAGS += -Iguest-kernel/drivers -Iworkloads/engine
