# guest-linux/linux.mk - the Linux guest: Debian's stock kernel as a PVH ELF ($(BUILD)/linux/vmlinux) and an
# initramfs that runs Debian's fio on /dev/vda ($(BUILD)/linux/initramfs.cpio); see guest-linux/README.md.
# Included from the top Makefile. Not part of `all`: the first build downloads Debian packages.

BUILD ?= build
CC    ?= gcc

LINUX_OUT  := $(BUILD)/linux
# The .deb cache ci/svm-run uses too (SVM_RIG_DIR/debs): a package already fetched is not fetched again.
LINUX_DEB_DIR := $(or $(SVM_RIG_DIR),build/svm-rig)/debs
LINUX_INPUTS := guest-linux/build-image guest-linux/debian.bash guest-linux/init guest-linux/exitless-io.c \
	include/abi.h $(wildcard $(LINUX_DEB_DIR)/linux-image-*-amd64_*.deb $(LINUX_DEB_DIR)/busybox-static_*.deb) \
	$(wildcard /usr/bin/fio)

.PHONY: linux-guest
linux-guest: $(LINUX_OUT)/vmlinux $(LINUX_OUT)/initramfs.cpio
	@:

$(LINUX_OUT)/vmlinux $(LINUX_OUT)/initramfs.cpio &: $(LINUX_INPUTS) | deps
	@CC="$(CC)" guest-linux/build-image $(LINUX_OUT)
