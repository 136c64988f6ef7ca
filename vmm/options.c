/* options.c - the command line of build/vmm: one table drives parsing, --help and the errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

#define MEM_MIN_MIB 16
#define MEM_MAX_MIB 3072 /* RAM stays below the 32-bit MMIO window (virtio-mmio, IOAPIC, LAPIC) */

struct option_def {
	const char *name;
	const char *arg;  /* NULL: a flag without value */
	const char *help;
	void (*set)(struct vmm_config *c, const char *value, const char *name);
};

static unsigned long long parse_number(const char *value, const char *name,
				       unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || n < min || n > max)
		die(VMM_EXIT_USAGE, "--%s: '%s' is not a number in [%llu, %llu]", name, value, min,
		    max);
	return n;
}

static void set_mem(struct vmm_config *c, const char *v, const char *name)
{
	c->mem_mib = parse_number(v, name, MEM_MIN_MIB, MEM_MAX_MIB);
}

static void set_timeout(struct vmm_config *c, const char *v, const char *name)
{
	c->timeout_s = (unsigned)parse_number(v, name, 0, 86400);
}

static void set_cmdline(struct vmm_config *c, const char *v, const char *name)
{
	(void)name;
	c->cmdline = v;
}

static void set_module(struct vmm_config *c, const char *v, const char *name)
{
	if (c->nmodules == PVH_MAX_MODULES)
		die(VMM_EXIT_USAGE, "--%s: at most %d modules", name, PVH_MAX_MODULES);
	c->modules[c->nmodules++].path = v;
}

static void set_console(struct vmm_config *c, const char *v, const char *name)
{
	(void)name;
	c->console = v;
}

static void set_results(struct vmm_config *c, const char *v, const char *name)
{
	(void)name;
	c->results = v;
}

static void show_help(struct vmm_config *c, const char *v, const char *name);

static const struct option_def option_defs[] = {
	{ "mem", "MiB", "guest RAM in MiB (16..3072, default 256), backed by a memfd", set_mem },
	{ "cmdline", "STR", "guest command line (key=value words); tsc_khz= is appended", set_cmdline },
	{ "module", "FILE", "pass FILE to the guest as the next PVH module (repeatable; module 0 is "
			    "the fio job)", set_module },
	{ "console", "FILE", "write COM1 (the guest console) to FILE instead of stdout", set_console },
	{ "results", "FILE", "write COM2 (the guest's machine-readable results) to FILE", set_results },
	{ "timeout", "SEC", "stop the guest after SEC seconds with exit status 124 (0: never)",
	  set_timeout },
	{ "help", NULL, "show this help and exit", show_help },
};
#define NOPTIONS (sizeof(option_defs) / sizeof(option_defs[0]))

static void show_help(struct vmm_config *c, const char *v, const char *name)
{
	(void)c, (void)v, (void)name;
	printf("usage: vmm [options] GUEST.elf\n"
	       "Boots a PVH ELF guest on KVM. Exit status: the guest's debug-exit code (port 0xf4),\n"
	       "2 for bad input, 124 on --timeout, 125 on a guest crash or host failure.\n\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[40];

		snprintf(left, sizeof(left), "--%s%s%s", option_defs[i].name,
			 option_defs[i].arg ? " " : "", option_defs[i].arg ? option_defs[i].arg : "");
		printf("  %-22s %s\n", left, option_defs[i].help);
	}
	exit(0);
}

void options_parse(struct vmm_config *c, int argc, char **argv)
{
	struct option longopts[NOPTIONS + 1];
	int idx;

	memset(c, 0, sizeof(*c));
	c->mem_mib = 256;
	for (size_t i = 0; i < NOPTIONS; i++)
		longopts[i] = (struct option){ option_defs[i].name,
					       option_defs[i].arg ? required_argument : no_argument,
					       NULL, (int)i };
	longopts[NOPTIONS] = (struct option){ 0 };
	opterr = 0;
	for (;;) {
		int o = getopt_long(argc, argv, "+:", longopts, &idx);

		if (o == -1)
			break;
		if (o == ':')
			die(VMM_EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
		if (o == '?')
			die(VMM_EXIT_USAGE, "unknown option '%s' (see --help)", argv[optind - 1]);
		option_defs[o].set(c, optarg, option_defs[o].name);
	}
	if (optind != argc - 1)
		die(VMM_EXIT_USAGE, "%s (usage: vmm [options] GUEST.elf, see --help)",
		    optind == argc ? "no guest ELF given" : "more than one guest ELF given");
	c->guest = argv[optind];
}
