/* entry.c - the two ways into a target: libFuzzer's entry (-DFUZZ_TARGET=fuzz_vq), or unit-fuzz-regress (TAP).
 *
 * Built with -DFUZZ_TARGET=<function>, this file is only libFuzzer's LLVMFuzzerTestOneInput for that
 * target. Built without, it is unit-fuzz-regress: it replays every saved input under
 * fuzz/regress/<target>/ through its target. Each input once crashed a fuzz target or broke one of its
 * invariants; it now has to run clean. Every input runs in a child process (built with AddressSanitizer
 * and UBSan, without libFuzzer), so one crash is one "not ok" with the child's report as TAP comments,
 * and the rest still run.
 * Usage: unit-fuzz-regress [DIR]   (DIR defaults to fuzz/regress; run from the repository root) */
#include "fuzz.h"

#ifdef FUZZ_TARGET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return FUZZ_TARGET(data, size);
}

#else

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static const struct target {
	const char *name;
	int (*run)(const uint8_t *data, size_t size);
} targets[] = {
	{ "fuzz-vq", fuzz_vq },
	{ "fuzz-mmio", fuzz_mmio },
	{ "fuzz-pci", fuzz_pci },
	{ "fuzz-elf", fuzz_elf },
	{ "fuzz-job", fuzz_job },
};

/* Reads a whole file into an exactly sized buffer (so an over-read is caught). NULL on error. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		if (f)
			fclose(f);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	*len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (buf && *len != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Prints the child's stderr as TAP comments (at most 40 lines). */
static void show(FILE *log)
{
	char line[512];
	int n = 0;

	rewind(log);
	while (fgets(line, sizeof(line), log) && n++ < 40)
		printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
}

/* Runs one input in a child; returns its wait status. */
static int run_child(const struct target *t, const uint8_t *data, size_t len, FILE *log)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(log), STDERR_FILENO);
		_exit(t->run(data, len) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return status;
}

static void replay(const struct target *t, const char *dir, const char *file)
{
	char path[4096];
	size_t len = 0;
	uint8_t *data;
	FILE *log = tmpfile();
	int status;

	data = snprintf(path, sizeof(path), "%s/%s", dir, file) < (int)sizeof(path) ? slurp(path, &len) : NULL;
	status = data && log ? run_child(t, data, len, log) : -1;
	ok(status == 0, "%s %s runs clean", t->name, path);
	if (status != 0) {
		if (status == -1)
			printf("# cannot read the input or start the child\n");
		else if (WIFSIGNALED(status))
			printf("# killed by signal %d\n", WTERMSIG(status));
		else
			printf("# exit status %d\n", WEXITSTATUS(status));
		if (log)
			show(log);
	}
	free(data);
	if (log)
		fclose(log);
}

static int not_hidden(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : "fuzz/regress";

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char dir[4096];
		struct dirent **names;
		int n;

		snprintf(dir, sizeof(dir), "%s/%s", root, targets[i].name);
		n = scandir(dir, &names, not_hidden, alphasort);
		for (int k = 0; k < n; k++) {
			replay(&targets[i], dir, names[k]->d_name);
			free(names[k]);
		}
		if (n >= 0)
			free(names);
	}
	return tap_done();
}

#endif
