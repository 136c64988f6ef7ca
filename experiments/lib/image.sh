# experiments/lib/image.sh - the backing store of a run: a fully written image file or a given block device.
# shellcheck shell=bash disable=SC2034 # sourced: variables are used by the scripts that source it
# A sparse or fallocated file reads as zeros without touching the device, so images are written in full from
# /dev/urandom and reused only when every byte is allocated.

DISK=""       # path of the backing store
DISK_KIND=""  # file | blockdev
DISK_BYTES=0  # its size in bytes

# image_allocated FILE: bytes the file system really holds for FILE.
image_allocated() {
	local blocks
	blocks=$(stat -c %b "$1")
	echo $((blocks * 512))
}

# image_full FILE BYTES: true when FILE is BYTES long and fully allocated (not sparse).
image_full() {
	[ -f "$1" ] || return 1
	[ "$(stat -c %s "$1")" -eq "$2" ] || return 1
	[ "$(image_allocated "$1")" -ge "$2" ]
}

# image_create FILE BYTES: writes FILE in full from /dev/urandom (through FILE.partial.PID, so an interrupted
# write is never mistaken for an image).
image_create() {
	local file=$1 bytes=$2 mib=$(($2 / 1048576))
	mkdir -p "$(dirname "$file")"
	echo "preparing $file: $mib MiB from /dev/urandom, written in full" >&2
	dd if=/dev/urandom of="$file.partial.$$" bs=1M count="$mib" iflag=fullblock oflag=direct conv=fsync status=none ||
		die "could not write $file (free space in $(dirname "$file")?)"
	mv -f "$file.partial.$$" "$file"
}

# image_use_disk PATH: takes a given image file or block device as it is (a file must be fully written).
image_use_disk() {
	local path=$1 alloc
	if [ -b "$path" ]; then
		DISK_KIND=blockdev
		DISK_BYTES=$(blockdev --getsize64 "$path") || die "cannot read the size of $path"
	elif [ -f "$path" ]; then
		DISK_KIND="file"
		DISK_BYTES=$(stat -c %s "$path")
		alloc=$(image_allocated "$path")
		[ "$alloc" -ge "$DISK_BYTES" ] ||
			die "$path is sparse ($alloc of $DISK_BYTES bytes allocated): write it in full (dd if=/dev/urandom ...) or use --image-size"
	else
		die "--disk $path: no such file or block device"
	fi
	DISK=$(readlink -f "$path")
}

# image_prepare DISKOPT SIZE: sets DISK, DISK_KIND, DISK_BYTES; makes or reuses results/images/image-SIZE.img
# unless a disk is given.
image_prepare() {
	local opt=$1 size=$2 bytes dir file
	if [ -n "$opt" ]; then
		image_use_disk "$opt"
		return
	fi
	bytes=$(size_bytes "$size") || die "image size \"$size\": expected a size such as 1G or 512M"
	if [ "$bytes" -eq 0 ] || [ $((bytes % 1048576)) -ne 0 ]; then die "image size $size: use a whole number of MiB"; fi
	dir=${EXITLESS_IMAGE_DIR:-$ROOT/results/images}
	file=$dir/image-$((bytes / 1048576))M.img
	image_full "$file" "$bytes" || image_create "$file" "$bytes"
	DISK=$(readlink -f "$file") DISK_KIND=file DISK_BYTES=$bytes
}

# image_check_jobs: every job's size= fits in the backing store (fio would otherwise grow an image file).
image_check_jobs() {
	local j size bytes
	for j in "${JOBS[@]}"; do
		size=$(job_attr "$(job_file "$j")" size "")
		[ -n "$size" ] || continue
		bytes=$(size_bytes "$size") || continue
		[ "$bytes" -le "$DISK_BYTES" ] ||
			die "job $j reads size=$size but $DISK holds $DISK_BYTES bytes: use a larger --image-size"
	done
}
