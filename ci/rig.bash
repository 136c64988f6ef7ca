# ci/rig.bash - what the rigs (ci/svm-run, ci/vmx-run) share: argument checks and the script that runs the
# command inside (sourced, not run). The sourcing script defines usage MESSAGE (prints it and exits 2).
# shellcheck shell=bash

# number VALUE FLAG MIN MAX: VALUE if it is a decimal number in [MIN, MAX], else a usage error.
number() {
	if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < $3 || $1 > $4)); then
		usage "$2: '$1' is not a number in [$3, $4]"
	fi
	echo "$1"
}

# write_cmd FILE EXPORTS CMD...: the script a rig runs: the exported environment, EXPORTS (a shell line
# naming the rig), core dumps on, the working directory, then CMD.
write_cmd() {
	local file=$1 exports=$2
	shift 2
	{
		echo "# written by ci/${PROG:-rig}"
		export -p | grep -Ev '^declare -x (BASHOPTS|BASH_[A-Z_]*|EUID|GROUPS|HOSTNAME|OLDPWD|PPID|PWD|SHELLOPTS|SHLVL|UID|_)(=|$)' || true
		echo "$exports"
		echo "ulimit -c unlimited"
		printf 'cd %q || exit 125\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		echo
	} >"$file"
}
