/* main.c - build/vmm: parse the command line, build the machine, run it, return the guest's code. */
#include "vmm.h"

int main(int argc, char **argv)
{
	static struct vmm v;
	int status;

	options_parse(&v.cfg, argc, argv);
	machine_setup(&v);
	status = vcpu_run_all(&v);
	machine_teardown(&v);
	return status;
}
