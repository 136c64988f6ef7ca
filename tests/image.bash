# tests/image.bash - the base disk image a bats file's tests copy: random bytes written in full, never sparse
# (a hole reads as zeros without touching the disk). In a bats file: `load ../../tests/image` (relative to the
# file), then `base_image NAME` in setup_file and `base_image_gone` in teardown_file; `base_image_copy` gives a
# test its own copy in IMG.

# base_image NAME [MIB]: a fresh IMGDIR (exported) holding base.img of MIB MiB (default 32; 8 in the VMX rig,
# VMX_RIG, where the rig's kernel makes random bytes at about 1.4 MiB/s and every test copies the image).
base_image() {
	local mib=${2:-32}
	[ -n "${2:-}" ] || [ -z "${VMX_RIG:-}" ] || mib=8
	export IMGDIR
	IMGDIR=$(mktemp -d -p "${BATS_TMPDIR:-/tmp}" "$1.XXXXXX")
	dd if=/dev/urandom of="$IMGDIR/base.img" bs=1M count="$mib" status=none
}

base_image_gone() {
	rm -rf "$IMGDIR"
}

# base_image_copy: IMG, this test's own copy of the base image.
base_image_copy() {
	IMG="$BATS_TEST_TMPDIR/disk.img"
	cp "$IMGDIR/base.img" "$IMG"
}
