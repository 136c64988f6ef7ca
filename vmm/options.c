/* options.c - the command line of build/vmm: one table drives parsing, --help and the errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void set_stats(struct vmm_config *c, const char *v, const char *name)
{
	(void)name;
	c->stats = v;
}

/* Picks `value` out of a NULL-terminated list; dies naming the choices otherwise. */
static int choose(const char *value, const char *name, const char *const *choices)
{
	char all[128] = "";

	for (int i = 0; choices[i]; i++) {
		if (strcmp(value, choices[i]) == 0)
			return i;
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? "|" : "", choices[i]);
	}
	die(VMM_EXIT_USAGE, "--%s: '%s' is not one of %s", name, value, all);
}

static void set_request(struct vmm_config *c, const char *v, const char *name)
{
	static const char *const modes[] = { "exit", "ioeventfd", "exitless", NULL };

	c->request = (enum request_mode)choose(v, name, modes);
}

static void set_emulation(struct vmm_config *c, const char *v, const char *name)
{
	static const char *const modes[] = { "thread", "process", NULL };

	c->emulation = (enum emu_mode)choose(v, name, modes);
}

static void set_completion(struct vmm_config *c, const char *v, const char *name)
{
	static const char *const modes[] = { "irq", "poll", NULL };

	c->completion = (enum completion_mode)choose(v, name, modes);
}

static void set_poll_us(struct vmm_config *c, const char *v, const char *name)
{
	unsigned long long us = parse_number(v, name, 0, 10000000);

	c->poll_us = us ? (long)us : -1;
}

/* --disk PATH[,backend=uring|sync|null|ram][,ro][,rw-device] */
static void set_disk(struct vmm_config *c, const char *v, const char *name)
{
	static const char *const backends[] = { "uring", "sync", "null", "ram", NULL };
	struct disk_config *d = &c->disks[c->ndisks];
	char *spec = strdup(v), *save = NULL, *opt;

	if (c->ndisks == VMM_MAX_DISKS)
		die(VMM_EXIT_USAGE, "--%s: at most %d disks", name, VMM_MAX_DISKS);
	d->path = strtok_r(spec, ",", &save);
	d->backend = "uring";
	if (!d->path)
		die(VMM_EXIT_USAGE, "--%s: no image path in '%s'", name, v);
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (strncmp(opt, "backend=", 8) == 0)
			d->backend = backends[choose(opt + 8, "disk backend", backends)];
		else if (strcmp(opt, "ro") == 0)
			d->ro = true;
		else if (strcmp(opt, "rw-device") == 0)
			d->rw_device = true;
		else
			die(VMM_EXIT_USAGE, "--%s: unknown disk option '%s' (backend=, ro, rw-device)", name, opt);
	}
	c->ndisks++;
}

/* --pin vcpu=C,iocore=C,dev=C (any subset) */
static void set_pin(struct vmm_config *c, const char *v, const char *name)
{
	char *spec = strdup(v), *save = NULL, *item;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		int *slot = NULL;

		if (eq) {
			*eq = 0;
			slot = !strcmp(item, "vcpu") ? &c->pin.vcpu : !strcmp(item, "iocore") ? &c->pin.iocore
			     : !strcmp(item, "dev") ? &c->pin.dev : NULL;
		}
		if (!slot)
			die(VMM_EXIT_USAGE, "--%s: '%s' is not vcpu=C, iocore=C or dev=C", name, item);
		*slot = (int)parse_number(eq + 1, name, 0, (unsigned long long)ncpu - 1);
	}
	c->pin_given = true;
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
	{ "disk", "PATH[,OPT]", "a virtio-blk disk (repeatable); OPT: backend=uring|sync|null|ram (default uring), ro, rw-device (allow writes to a block device)", set_disk },
	{ "request", "MODE", "how requests reach the device: exit|ioeventfd|exitless (default exitless)", set_request },
	{ "poll-us", "N", "exitless: IOCore sleeps after N µs without work (0: never sleeps; default 0)", set_poll_us },
	{ "emulation", "MODE", "where the device runs: thread (in the VMM) | process (a device process) (default thread)", set_emulation },
	{ "completion", "MODE", "how completions reach the guest: irq|poll (default poll)", set_completion },
	{ "pin", "LIST", "CPU placement vcpu=C,iocore=C,dev=C (default: vcpu=0,iocore=1,dev=1 on 2+ CPUs)", set_pin },
	{ "stats", "FILE", "write exit and cost accounting of the measured window as JSON", set_stats },
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
	c->request = REQ_EXITLESS;
	c->emulation = EMU_THREAD;
	c->completion = COMP_POLL;
	c->poll_us = -1;
	c->pin = (struct pin_config){ -1, -1, -1 };
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
