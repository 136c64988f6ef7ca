# guest-linux/debian.bash - Debian packages for the machines the project boots, shared by ci/svm-run and
# guest-linux/build-image (sourced, not run): one cache of .deb files fetched with apt-get download, the
# kernel package linux-image-amd64 names, its kernel and modules, and the order modules load in.
# The sourcing script sets DEB_DIR (the cache directory) and defines die MESSAGE (prints it and exits).
# shellcheck shell=bash

# deb_cached PATTERN: the cached .deb matching PATTERN, or nothing.
deb_cached() {
	local f
	for f in "${DEB_DIR:?}"/$1; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
}

# deb_fetch PATTERN NAME_CMD: the cached .deb matching PATTERN; when there is none, the package NAME_CMD
# prints is downloaded (once: apt-get download, with apt-get update when the lists are missing). The
# download goes to a directory of its own and is renamed into the cache, so a reader never sees half a file.
deb_fetch() {
	local pattern=$1 pkg f dl
	f=$(deb_cached "$pattern")
	if [ -n "$f" ]; then
		echo "$f"
		return 0
	fi
	pkg=$($2)
	mkdir -p "${DEB_DIR:?}"
	dl=$(mktemp -d "$DEB_DIR/.download.XXXXXX")
	if ! (cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1) &&
		! (cd "$dl" && apt-get update -qq >/dev/null 2>&1 && apt-get download -q "$pkg" >/dev/null 2>&1); then
		rm -rf "$dl"
		die "cannot download the Debian package $pkg (apt-get download)"
	fi
	for f in "$dl"/*.deb; do
		if [ -f "$f" ]; then mv "$f" "$DEB_DIR/"; fi
	done
	rm -rf "$dl"
	f=$(deb_cached "$pattern")
	[ -n "$f" ] || die "apt-get download $pkg left no $pattern in $DEB_DIR"
	echo "$f"
}

# kernel_package: linux-image-<version>-amd64, the package linux-image-amd64 depends on.
# shellcheck disable=SC2317 # called by name through deb_fetch
kernel_package() {
	local name
	name=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$name" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		name=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$name" ] || die "cannot tell which kernel linux-image-amd64 names (apt-cache)"
	echo "$name"
}

# shellcheck disable=SC2317 # called by name through deb_fetch
busybox_package() {
	echo busybox-static
}

# kernel_deb: the cached kernel package (fetched when missing).
kernel_deb() {
	deb_fetch "linux-image-*-amd64_*.deb" kernel_package
}

# busybox_deb: the cached busybox-static package (fetched when missing).
busybox_deb() {
	deb_fetch "busybox-static_*.deb" busybox_package
}

# kernel_extract DEB DIR: DIR/vmlinuz, DIR/modules/*.ko (every module of the package, flat) and
# DIR/package (the .deb's name) from the kernel package DEB; DIR is replaced as a whole.
kernel_extract() {
	local deb=$1 tree=$2
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp/x"
	dpkg-deb -x "$deb" "$tree.tmp/x" || die "cannot unpack $deb (dpkg-deb)"
	mkdir -p "$tree.tmp/modules"
	cp "$tree.tmp"/x/boot/vmlinuz-* "$tree.tmp/vmlinuz" || die "$deb has no /boot/vmlinuz-*"
	find "$tree.tmp/x/lib/modules" -name '*.ko' -exec mv {} "$tree.tmp/modules/" \;
	basename "$deb" >"$tree.tmp/package"
	rm -rf "$tree.tmp/x" "$tree"
	mv "$tree.tmp" "$tree"
}

# module_file DIR NAME: the .ko in DIR of module NAME ('-' and '_' are the same in module names).
module_file() {
	local f
	for f in "$1/$2.ko" "$1/${2//-/_}.ko" "$1/${2//_/-}.ko"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	die "the kernel package has no module $2"
}

# module_depends KO: the modules KO needs (its modinfo depends=), one per line.
module_depends() {
	strings -a "$1" | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d'
}

# module_check_order DIR "NAME...": every module's dependencies come before it in the list.
module_check_order() {
	local dir=$1 m d f seen=" "
	for m in $2; do
		f=$(module_file "$dir" "$m")
		for d in $(module_depends "$f"); do
			[[ "$seen" == *" ${d//-/_} "* ]] || die "module $m needs $d, which is not loaded before it"
		done
		seen="$seen${m//-/_} "
	done
}

# module_order DIR NAME...: the NAMEs and every module they need, one file name (x.ko) per line, each
# after all of its dependencies: the order insmod loads them in.
module_order() {
	local dir=$1 m
	shift
	local -A visited=()
	local -a order=()
	for m in "$@"; do
		module_visit "$m"
	done
	printf '%s\n' "${order[@]}"
}

# module_visit NAME: appends NAME's dependencies, then NAME, to module_order's order (depth first).
module_visit() {
	local n=${1//-/_} f d
	[ -z "${visited[$n]:-}" ] || return 0
	visited[$n]=1
	f=$(module_file "$dir" "$1")
	for d in $(module_depends "$f"); do
		module_visit "$d"
	done
	order+=("${f##*/}")
}
