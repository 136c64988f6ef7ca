# mk/deps.mk - installs the Debian packages the project uses when any is missing; silent when all are present.

DEB_PACKAGES := gcc make binutils libc6-dev liburing-dev qemu-system-x86 bats jq fio gnuplot-nox hyperfine clang linux-perf \
	libclang-rt-14-dev shellcheck e2fsprogs xz-utils acpica-tools slurmctld slurmd slurm-client munge parallel \
	bochs bochs-sdl bochsbios vgabios xorriso isolinux syslinux-common

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    { echo "deps: could not install$$missing (run as root with Debian's repositories reachable)" >&2; exit 2; }; \
	fi
