/* options.c - the command line of build/vmm: one table drives parsing, --help and the errors; the
 * switches' choices come from the mode tables (modes.c). */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"
#include "json.h"

#define MEM_MIN_MIB 16
#define MEM_MAX_MIB 3072 /* RAM stays below the 32-bit MMIO window (virtio-mmio, IOAPIC, LAPIC) */

struct option_def {
	const char *name;
	const char *arg;  /* NULL: a flag without value */
	const char *help;
	void (*set)(struct vmm_config *c, const char *value, const char *name);
};

/* A switch: its flag, its table of modes (each entry starts with a struct mode), the default, and the field of
 * struct vmm_config that holds the chosen mode. A new switch is one entry here and one in option_defs. */
struct switch_def {
	const char *flag;
	const void *table;
	size_t stride;
	const int *n;
	const char *def;
	size_t field; /* offsetof(struct vmm_config, ...): a const pointer to the mode */
};

#define SWITCH(flag, table, def, field) { flag, table, sizeof(table[0]), &n_##table, def, offsetof(struct vmm_config, field) }
static const struct switch_def switches[] = {
	SWITCH("request", request_modes, "exitless", request),
	SWITCH("emulation", emu_modes, "auto", emulation),
	SWITCH("completion", completion_modes, "poll", completion),
	SWITCH("transport", transport_modes, "mmio", transport),
	SWITCH("hlt-exits", hlt_modes, "on", hlt_exits),
};
#define NSWITCHES (sizeof(switches) / sizeof(switches[0]))

static const struct mode *mode_at(const struct switch_def *s, int i)
{
	return (const struct mode *)((const char *)s->table + (size_t)i * s->stride);
}

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

static void set_mem_backing(struct vmm_config *c, const char *v, const char *name)
{
	for (int i = 0; i < MEM_BACKINGS; i++)
		if (strcmp(v, mem_backing_names[i]) == 0) {
			c->mem_backing = (enum mem_backing)i;
			return;
		}
	die(VMM_EXIT_USAGE, "--%s: '%s' is not one of auto|hugetlb|thp|4k", name, v);
}

static void set_cpus(struct vmm_config *c, const char *v, const char *name)
{
	c->cpus = (int)parse_number(v, name, 1, VMM_MAX_VCPUS);
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

static void set_initrd(struct vmm_config *c, const char *v, const char *name)
{
	(void)name;
	c->initrd = v;
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

/* "a|b|c" from a switch's table. */
static void choices(const struct switch_def *s, char *buf, size_t len)
{
	buf[0] = 0;
	for (int i = 0; i < *s->n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "|" : "", mode_at(s, i)->name);
}

/* Picks `value` out of a switch's modes; dies naming the choices otherwise. */
static const void *choose_mode(const char *value, const char *flag)
{
	char all[128];

	for (size_t k = 0; k < NSWITCHES; k++) {
		const struct switch_def *s = &switches[k];

		if (strcmp(s->flag, flag) != 0)
			continue;
		for (int i = 0; i < *s->n; i++)
			if (strcmp(value, mode_at(s, i)->name) == 0)
				return mode_at(s, i);
		choices(s, all, sizeof(all));
		die(VMM_EXIT_USAGE, "--%s: '%s' is not one of %s", flag, value, all);
	}
	die(VMM_EXIT_FAILURE, "no switch --%s", flag);
}

/* --request, --emulation, ...: the mode named v of the switch `name`, into its field. */
static void set_switch(struct vmm_config *c, const char *v, const char *name)
{
	for (size_t k = 0; k < NSWITCHES; k++)
		if (strcmp(switches[k].flag, name) == 0)
			*(const void **)((char *)c + switches[k].field) = choose_mode(v, name);
}

static void set_contexts(struct vmm_config *c, const char *v, const char *name)
{
	if (strcmp(v, "device") == 0)
		c->contexts = CTX_PER_DEVICE;
	else if (strcmp(v, "queue") == 0)
		c->contexts = CTX_PER_QUEUE;
	else
		die(VMM_EXIT_USAGE, "--%s: '%s' is not one of device|queue", name, v);
}

#define POLL_US_MAX 10000000 /* 10 s */

/* --poll-us N (0: never sleep) | adaptive[:MAX] (a window moved by the traffic, at most MAX µs). */
static void set_poll_us(struct vmm_config *c, const char *v, const char *name)
{
	const char *max;

	if (strncmp(v, "adaptive", 8) != 0) {
		uint64_t us;

		if (v[0] < '0' || v[0] > '9')
			die(VMM_EXIT_USAGE, "--%s: '%s' is not N or adaptive[:MAX] (N, MAX in µs)", name, v);
		us = parse_number(v, name, 0, POLL_US_MAX);

		c->poll = (struct poll_policy){ us ? POLL_FIXED : POLL_NEVER_SLEEP, us * 1000 };
		return;
	}
	max = v[8] == ':' ? v + 9 : NULL;
	if (v[8] && (!max || !*max))
		die(VMM_EXIT_USAGE, "--%s: '%s' is not N or adaptive[:MAX] (N, MAX in µs)", name, v);
	c->poll = (struct poll_policy){ POLL_ADAPTIVE,
		(max ? parse_number(max, "poll-us adaptive:MAX", 1, POLL_US_MAX) : POLL_ADAPTIVE_MAX_US) * 1000 };
}

/* --disk PATH[,backend=uring|sync|null|ram][,ro][,rw-device][,queues=Q][,latency=US[,serial]][,transport=MODE] */
static void set_disk(struct vmm_config *c, const char *v, const char *name)
{
	struct disk_config *d = &c->disks[c->ndisks];
	char *spec = strdup(v), *save = NULL, *opt;

	if (c->ndisks == VMM_MAX_DISKS)
		die(VMM_EXIT_USAGE, "--%s: at most %d disks", name, VMM_MAX_DISKS);
	d->path = strtok_r(spec, ",", &save);
	d->backend = "uring";
	if (!d->path)
		die(VMM_EXIT_USAGE, "--%s: no image path in '%s'", name, v);
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (strncmp(opt, "backend=", 8) == 0) {
			d->backend = opt + 8;
			if (!backend_find(d->backend))
				die(VMM_EXIT_USAGE, "--disk backend: '%s' is not one of %s", d->backend, backend_names);
		} else if (strncmp(opt, "queues=", 7) == 0) {
			d->queues = (int)parse_number(opt + 7, "disk queues", 1, VIRTIO_MAX_QUEUES);
		} else if (strcmp(opt, "ro") == 0) {
			d->ro = true;
		} else if (strcmp(opt, "rw-device") == 0) {
			d->rw_device = true;
		} else if (strncmp(opt, "latency=", 8) == 0) {
			d->latency_us = (uint32_t)parse_number(opt + 8, "disk latency", 1, 1000000);
		} else if (strcmp(opt, "serial") == 0) {
			d->serial = true;
		} else if (strncmp(opt, "transport=", 10) == 0) {
			d->transport = choose_mode(opt + 10, "transport");
		} else {
			die(VMM_EXIT_USAGE,
			    "--%s: unknown disk option '%s' (backend=, queues=, ro, rw-device, latency=, serial, transport=)",
			    name, opt);
		}
	}
	if (d->latency_us && strcmp(d->backend, "null") != 0)
		die(VMM_EXIT_USAGE, "--%s %s: latency= is a property of backend=null (a device that moves no data)", name,
		    d->path);
	if (d->serial && !d->latency_us)
		die(VMM_EXIT_USAGE, "--%s %s: serial needs backend=null,latency=US (the service time of each request)", name,
		    d->path);
	c->ndisks++;
}

/* A CPU list: "C", "A-B" or "A:B:C" (':' because ',' separates --pin's items). */
static void parse_cpu_list(struct cpu_list *l, char *s, const char *name, long ncpu)
{
	char *dash = strchr(s, '-'), *save = NULL, *tok;

	l->n = 0;
	if (dash) {
		int a, b;

		*dash = 0;
		a = (int)parse_number(s, name, 0, (unsigned long long)ncpu - 1);
		b = (int)parse_number(dash + 1, name, (unsigned long long)a, (unsigned long long)ncpu - 1);
		for (int cpu = a; cpu <= b && l->n < (int)(sizeof(l->cpu) / sizeof(l->cpu[0])); cpu++)
			l->cpu[l->n++] = cpu;
		return;
	}
	for (tok = strtok_r(s, ":", &save); tok && l->n < (int)(sizeof(l->cpu) / sizeof(l->cpu[0]));
	     tok = strtok_r(NULL, ":", &save))
		l->cpu[l->n++] = (int)parse_number(tok, name, 0, (unsigned long long)ncpu - 1);
	if (!l->n)
		die(VMM_EXIT_USAGE, "--%s: an empty CPU list", name);
}

/* --pin vcpu=LIST,iocore=C,dev=LIST (any subset) */
static void set_pin(struct vmm_config *c, const char *v, const char *name)
{
	char *spec = strdup(v), *save = NULL, *item;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct cpu_list *slot = NULL;

		if (eq) {
			*eq = 0;
			slot = !strcmp(item, "vcpu") ? &c->pin.vcpu : !strcmp(item, "iocore") ? &c->pin.iocore
			     : !strcmp(item, "dev") ? &c->pin.dev : NULL;
		}
		if (!slot)
			die(VMM_EXIT_USAGE, "--%s: '%s' is not vcpu=C, iocore=C or dev=C", name, item);
		parse_cpu_list(slot, eq + 1, name, ncpu);
	}
	c->pin_given = true;
}

/* --platform: the facts of this host a result must carry, as JSON on stdout (the kit's meta.json). */
static void show_platform(struct vmm_config *c, const char *v, const char *name)
{
	char hv[64];

	(void)c, (void)v, (void)name;
	host_hypervisor(hv, sizeof(hv));
	printf("{\"kvm_flavor\": \"%s\", \"emulated\": %s, \"host_hypervisor\": \"%s\", \"posted_interrupts\": %s}\n",
	       kvm_flavor(), host_emulated(hv) ? "true" : "false", hv,
	       host_posted_interrupts() ? "true" : "false");
	exit(0);
}

static void set_dry_run(struct vmm_config *c, const char *v, const char *name)
{
	(void)v, (void)name;
	c->dry_run = true;
}

void cpu_list_format(const struct cpu_list *l, char *s, size_t len)
{
	size_t n = 0;

	s[0] = 0;
	for (int i = 0; i < l->n && n + 8 < len; i++)
		n += (size_t)snprintf(s + n, len - n, "%s%d", i ? ":" : "", l->cpu[i]);
}

static void show_help(struct vmm_config *c, const char *v, const char *name);
static void show_switches(struct vmm_config *c, const char *v, const char *name);

static const struct option_def option_defs[] = {
	{ "mem", "MiB", "guest RAM in MiB (16..3072, default 256), backed by a memfd", set_mem },
	{ "mem-backing", "KIND", "guest RAM pages: auto (default: hugetlb when the host has free 2 MiB pages, else thp "
				 "when shmem may have them, else 4k) | hugetlb | thp | 4k", set_mem_backing },
	{ "cpus", "N", "vCPUs (1..16, default 1)", set_cpus },
	{ "cmdline", "STR", "guest command line (key=value words); tsc_khz= is appended", set_cmdline },
	{ "module", "FILE", "pass FILE to the guest as the next PVH module (repeatable; module 0 is "
			    "the fio job)", set_module },
	{ "initrd", "FILE", "boot a Linux kernel (GUEST is its vmlinux) with initramfs FILE; the --module files are "
			    "appended to it as exitless/job.fio (the first) and exitless/NAME", set_initrd },
	{ "console", "FILE", "write COM1 (the guest console) to FILE instead of stdout", set_console },
	{ "results", "FILE", "write COM2 (the guest's machine-readable results) to FILE", set_results },
	{ "timeout", "SEC", "stop the guest after SEC seconds with exit status 124 (0: never)",
	  set_timeout },
	{ "disk", "PATH[,OPT]", "a virtio-blk disk (repeatable); OPT: backend=uring|sync|null|ram (default uring), "
				"queues=Q (default one per vCPU), ro, rw-device (allow writes to a block device), "
				"latency=US (backend=null: each request completes US µs after it started), serial (with latency=: "
				"one request in service at a time), transport=MODE", set_disk },
	{ "request", "MODE", "how requests reach the device (default exitless; modes below)", set_switch },
	{ "poll-us", "N|adaptive[:MAX]", "the IOCore sleeps after N µs without work (0: never sleeps; default 0), or "
					 "after a window adapted to the traffic, at most MAX µs (default 200)", set_poll_us },
	{ "emulation", "MODE", "where the device runs (default auto; modes below)", set_switch },
	{ "emulation-contexts", "device|queue", "one emulation context per device (default) or per queue",
	  set_contexts },
	{ "completion", "MODE", "how completions reach the guest (default poll; modes below)", set_switch },
	{ "transport", "MODE", "how devices reach the guest (default mmio; modes below; per disk: --disk ...,transport=)",
	  set_switch },
	{ "hlt-exits", "on|off", "whether a halting vCPU exits (default on; modes below)", set_switch },
	{ "pin", "LIST", "CPU placement vcpu=L,iocore=C,dev=L, L a CPU, A-B or A:B:C (default: vCPUs first, "
			 "then the IOCore, then emulation; vcpu=0,iocore=1,dev=1 on 2 CPUs)", set_pin },
	{ "stats", "FILE", "write exit and cost accounting of the measured window as JSON", set_stats },
	{ "platform", NULL, "print this host's KVM flavor, whether it is emulated, and posted interrupts, as JSON", show_platform },
	{ "dry-run", NULL, "print the machine the other options ask for (the switches resolved, each disk's transport and "
			   "queues, the guest command line) as JSON and exit 0, without KVM", set_dry_run },
	{ "switches", NULL, "print every option, switch, mode and default, and the disk backends, as JSON", show_switches },
	{ "help", NULL, "show this help and exit", show_help },
};
#define NOPTIONS (sizeof(option_defs) / sizeof(option_defs[0]))

static void show_help(struct vmm_config *c, const char *v, const char *name)
{
	(void)c, (void)v, (void)name;
	printf("usage: vmm [options] GUEST.elf\n"
	       "Boots a PVH ELF guest (build/guest.elf, or a Linux vmlinux with --initrd) on KVM.\n"
	       "Exit status: the guest's debug-exit code (port 0xf4; 0 after an ACPI power-off without one),\n"
	       "2 for bad input, 124 on --timeout, 125 on a guest crash or host failure.\n\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[40];

		snprintf(left, sizeof(left), "--%s%s%s", option_defs[i].name,
			 option_defs[i].arg ? " " : "", option_defs[i].arg ? option_defs[i].arg : "");
		printf("  %-26s %s\n", left, option_defs[i].help);
	}
	printf("\nmodes:\n");
	for (size_t k = 0; k < NSWITCHES; k++)
		for (int i = 0; i < *switches[k].n; i++) {
			char left[40];

			snprintf(left, sizeof(left), "--%s %s", switches[k].flag, mode_at(&switches[k], i)->name);
			printf("  %-26s %s\n", left, mode_at(&switches[k], i)->help);
		}
	exit(0);
}

void options_parse(struct vmm_config *c, int argc, char **argv)
{
	struct option longopts[NOPTIONS + 1];
	int idx;

	memset(c, 0, sizeof(*c));
	c->mem_mib = 256;
	c->cpus = 1;
	for (size_t k = 0; k < NSWITCHES; k++)
		set_switch(c, switches[k].def, switches[k].flag);
	c->contexts = CTX_PER_DEVICE;
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

static void to_stdout(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	fwrite(text, 1, len, stdout);
}

/* --switches: the vocabulary the kit builds its command lines from (option_defs, switches, the backends). */
static void show_switches(struct vmm_config *c, const char *v, const char *name)
{
	char backends[128], *save = NULL;
	struct json w;

	(void)c, (void)v, (void)name;
	json_begin(&w, to_stdout, NULL);
	json_arr(&w, "options");
	for (size_t i = 0; i < NOPTIONS; i++) {
		json_obj(&w, NULL);
		json_str(&w, "name", option_defs[i].name);
		if (option_defs[i].arg)
			json_str(&w, "arg", option_defs[i].arg);
		else
			json_null(&w, "arg");
		json_str(&w, "help", option_defs[i].help);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_arr(&w, "switches");
	for (size_t k = 0; k < NSWITCHES; k++) {
		json_obj(&w, NULL);
		json_str(&w, "flag", switches[k].flag);
		json_str(&w, "default", switches[k].def);
		json_arr(&w, "modes");
		for (int i = 0; i < *switches[k].n; i++) {
			json_obj(&w, NULL);
			json_str(&w, "name", mode_at(&switches[k], i)->name);
			json_str(&w, "help", mode_at(&switches[k], i)->help);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_arr(&w, "backends");
	snprintf(backends, sizeof(backends), "%s", backend_names);
	for (char *b = strtok_r(backends, "|", &save); b; b = strtok_r(NULL, "|", &save))
		json_str(&w, NULL, b);
	json_arr_end(&w);
	json_end(&w);
	exit(0);
}
