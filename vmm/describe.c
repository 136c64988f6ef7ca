/* describe.c - build/vmm --dry-run: the machine a command line asks for, as JSON on stdout, without KVM: the
 * switches as resolved (--emulation auto, the default placement), each disk with its transport and queues, and
 * the guest command line the VMM would write. The kit builds its runs from this, not from a copy of the rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "virtio.h"

static void to_stdout(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	fwrite(text, 1, len, stdout);
}

static void cpu_list(struct json *w, const char *key, const struct cpu_list *l)
{
	char s[3 * 64 + 8];

	cpu_list_format(l, s, sizeof(s));
	if (l->n)
		json_str(w, key, s);
	else
		json_null(w, key);
}

void machine_describe(struct vmm *v)
{
	struct vmm_config *c = &v->cfg;
	size_t len = (c->cmdline ? strlen(c->cmdline) : 0) + 256, n;
	char *words = malloc(len);
	struct json w;

	if (!words)
		die(VMM_EXIT_FAILURE, "out of memory");
	machine_plan(c);
	n = machine_cmdline_words(c, true, words, len);
	if (n < len)
		machine_cmdline_words(c, false, words + n, len - n);
	json_begin(&w, to_stdout, NULL);
	json_str(&w, "guest", c->guest);
	json_str(&w, "guest_kind", c->initrd ? "linux" : "pvh");
	json_u64(&w, "mem_mib", c->mem_mib);
	json_u64(&w, "cpus", (uint64_t)c->cpus);
	json_str(&w, "request", c->request->m.name);
	json_str(&w, "emulation", c->emulation->m.name);
	json_str(&w, "emulation_asked", c->emulation_asked->m.name);
	json_str(&w, "completion", c->completion->m.name);
	json_str(&w, "transport", c->transport->m.name);
	json_str(&w, "hlt_exits", c->hlt_exits->m.name);
	json_str(&w, "contexts", c->contexts == CTX_PER_DEVICE ? "device" : "queue");
	json_u64(&w, "poll_us", c->poll.ns / 1000);
	json_bool(&w, "poll_adaptive", c->poll.kind == POLL_ADAPTIVE);
	json_obj(&w, "pin");
	cpu_list(&w, "vcpu", &c->pin.vcpu);
	cpu_list(&w, "iocore", &c->pin.iocore);
	cpu_list(&w, "dev", &c->pin.dev);
	json_obj_end(&w);
	json_arr(&w, "disks");
	for (int i = 0; i < c->ndisks; i++) {
		json_obj(&w, NULL);
		json_str(&w, "path", c->disks[i].path);
		json_str(&w, "transport", machine_disk_transport(c, i)->m.name);
		json_u64(&w, "queues", (uint64_t)machine_disk_queues(c, i));
		json_str(&w, "backend", c->disks[i].backend ? c->disks[i].backend : "uring");
		json_bool(&w, "ro", c->disks[i].ro);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	/* a Linux guest's whole command line; the tiny guest's less each device's words and tsc_khz=, added at boot */
	json_str(&w, "cmdline", words[0] == ' ' ? words + 1 : words);
	json_bool(&w, "cmdline_complete", c->initrd != NULL);
	json_end(&w);
	fflush(stdout);
	free(words);
}
