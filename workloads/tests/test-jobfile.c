/* test-jobfile.c - job-file parser: sections, inheritance, every rw mode, suffixes, exact error messages. */
#include "unit.h"

struct jobfile jf;

int parse(const char *text)
{
	memset(&jf, 0, sizeof(jf));
	return jobfile_parse(&jf, text, strlen(text));
}

void check_error(const char *text, const char *want)
{
	int rc = parse(text);
	ok(rc == -1 && !strcmp(jf.err, want), "job error: %s", want);
	if (rc != -1 || strcmp(jf.err, want))
		printf("#   got: %s\n", jf.err);
}

static void good_file(void)
{
	const char *t = "; a comment\n# another\n[global]\nbs = 16k\nruntime=5\ntime_based\n\n"
			"[first]\nrw=randread\niodepth=32\n[second]\r\nrw=write\nbs=1m\nsize=64m\n"
			"ramp_time=500ms\nioengine=io_uring\ndirect=1\nfilename=/dev/null\n";
	ok(parse(t) == 0 && jf.njobs == 2, "a good file parses into 2 jobs (%s)", jf.err);
	struct job *a = &jf.jobs[0], *b = &jf.jobs[1];
	ok(!strcmp(a->name, "first") && a->rw == RW_RANDREAD && a->bs == 16384 && a->iodepth == 32,
	       "job inherits [global] and sets its own options");
	ok(a->time_based == 1 && a->runtime_ns == 5000000000ull, "bare flag and runtime in seconds");
	ok(b->bs == 1048576 && b->size == 64ull << 20 && b->iodepth == 1 && b->ramp_ns == 500000000ull,
	       "second job keeps defaults and its own values");
	ok(a->nkv == 2 && jf.global.nkv == 2 && !strcmp(jf.global.kv[0].val, "16k"),
	       "raw options kept for the report (bare flags omitted)");
	ok(b->randseed == VFY_DEFAULT_SEED && b->randrepeat == 1 && b->rwmixread == 50, "fio defaults");
}

static void rw_modes(void)
{
	static const struct { const char *s; uint32_t rw; } m[] = {
		{"read", RW_READ}, {"write", RW_WRITE}, {"randread", RW_RANDREAD}, {"randwrite", RW_RANDWRITE},
		{"rw", RW_RW}, {"readwrite", RW_RW}, {"randrw", RW_RANDRW},
	};
	char t[64];
	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		snprintf(t, sizeof(t), "[j]\nrw=%s\n", m[i].s);
		ok(parse(t) == 0 && jf.jobs[0].rw == m[i].rw, "rw=%s", m[i].s);
	}
	ok(parse("[j]\nrw=randrw\nrwmixwrite=30\n") == 0 && jf.jobs[0].rwmixread == 70, "rwmixwrite=30");
}

static void suffixes(void)
{
	static const struct { const char *s; uint64_t v; } sz[] = {
		{"4096", 4096}, {"4k", 4096}, {"4K", 4096}, {"4kb", 4096}, {"1KiB", 1000}, {"1MiB", 1000000},
		{"2m", 2 << 20}, {"1g", 1ull << 30}, {"1t", 1ull << 40}, {"0x10", 16}, {"512b", 512},
	};
	static const struct { const char *s; uint64_t ns; } tm[] = {
		{"5", 5000000000ull}, {"5s", 5000000000ull}, {"100ms", 100000000ull}, {"10us", 10000ull},
		{"2m", 120000000000ull}, {"1h", 3600000000000ull}, {"3sec", 3000000000ull},
	};
	uint64_t v;
	for (unsigned i = 0; i < sizeof(sz) / sizeof(sz[0]); i++)
		ok(!opt_parse_size(sz[i].s, &v) && v == sz[i].v, "size %s = %llu", sz[i].s,
		       (unsigned long long)sz[i].v);
	for (unsigned i = 0; i < sizeof(tm) / sizeof(tm[0]); i++)
		ok(!opt_parse_time_ns(tm[i].s, &v) && v == tm[i].ns, "time %s", tm[i].s);
	ok(opt_parse_size("4x", &v) && opt_parse_size("k", &v) && opt_parse_time_ns("5w", &v),
	       "bad suffixes are refused");
}

static void errors(void)
{
	check_error("[j]\nrw=read\nfoo=1\n", "job file line 3: unknown option 'foo'");
	check_error("[global]\nbs=4q\n[j]\n",
		    "job file line 2: bad value '4q' for option 'bs' (block size, e.g. 4k, 128k, 1m)");
	check_error("[j]\nrw=trim\n", "job file line 2: bad value 'trim' for option 'rw' "
				      "(read, write, randread, randwrite, rw/readwrite or randrw)");
	check_error("[j]\nnumjobs=17\n", "job file line 2: bad value '17' for option 'numjobs' (clones of the job, run at once: in the guest each on its own CPU and queue)");
	check_error("[j]\nverify=md5\n", "job file line 2: bad value 'md5' for option 'verify' "
					 "(crc32c (alias crc32c-intel) or 0/none)");
	check_error("[j]\nrwmixread=101\n",
		    "job file line 2: bad value '101' for option 'rwmixread' (percentage of reads in mixed jobs (0-100))");
	check_error("bs=4k\n[j]\n", "job file line 1: option 'bs' before any [section]");
	check_error("[j]\nbs\n", "job file line 2: option 'bs' needs a value (block size, e.g. 4k, 128k, 1m)");
	check_error("; nothing\n", "job file: no job section (add [name] before the options)");
	check_error("[j]\ntime_based\n", "job file line 1: job 'j': time_based needs runtime");
	check_error("\n[j]\nrw=randrw\nverify=crc32c\n",
		    "job file line 2: job 'j': verify needs rw=read, write, randread or randwrite");
	check_error("[j\n", "job file line 1: bad section header '[j' (expected [name])");
}

static void verify_defaults(void)
{
	ok(parse("[j]\nrw=write\nverify=crc32c\n") == 0 && jf.jobs[0].verify && jf.jobs[0].do_verify,
	       "verify=crc32c turns do_verify on");
	ok(parse("[j]\nrw=write\nverify=crc32c\ndo_verify=0\n") == 0 && !jf.jobs[0].do_verify,
	       "do_verify=0 is kept");
	ok(parse("[j]\nverify=none\nstonewall\ngroup_reporting\nthread\n") == 0 && !jf.jobs[0].verify,
	       "verify=none and accepted flags");
}

static void pause_options(void)
{
	static const struct { const char *s; uint64_t ns; } tt[] = {
		{"2000", 2000000ull}, {"2ms", 2000000ull}, {"2000us", 2000000ull}, {"1s", 1000000000ull},
		{"50usec", 50000ull}, {"0", 0},
	};
	char t[64];
	uint64_t v;
	for (unsigned i = 0; i < sizeof(tt) / sizeof(tt[0]); i++) {
		snprintf(t, sizeof(t), "[j]\nthinktime=%s\n", tt[i].s);
		ok(parse(t) == 0 && jf.jobs[0].thinktime_ns == tt[i].ns, "thinktime=%s is %llu ns (a bare number is us)",
		       tt[i].s, (unsigned long long)tt[i].ns);
	}
	ok(parse("[j]\n") == 0 && !jf.jobs[0].thinktime_ns && jf.jobs[0].thinktime_blocks == 1 &&
	       !jf.jobs[0].startdelay_ns, "defaults: no thinktime, thinktime_blocks=1, no startdelay (as fio)");
	ok(parse("[global]\nthinktime_blocks=8\n[j]\nstartdelay=1\n[k]\nstartdelay=200ms\n") == 0 &&
	       jf.jobs[0].thinktime_blocks == 8 && jf.jobs[0].startdelay_ns == 1000000000ull &&
	       jf.jobs[1].startdelay_ns == 200000000ull, "thinktime_blocks; startdelay=1 is seconds, 200ms");
	ok(!opt_parse_time_unit("7", 1000, &v) && v == 7000 && !opt_parse_time_unit("7ms", 1000, &v) &&
	       v == 7000000 && opt_parse_time_unit("7w", 1000, &v), "opt_parse_time_unit: the bare unit is the caller's");
	check_error("[j]\nthinktime=2x\n", "job file line 2: bad value '2x' for option 'thinktime' "
					   "(pause after thinktime_blocks I/Os (us unless ms/s/m/h/d))");
	check_error("[j]\nstartdelay=1-3\n", "job file line 2: bad value '1-3' for option 'startdelay' "
					     "(delay from the start of the run (s unless us/ms/m/h/d))");
}

void test_jobfile(void)
{
	good_file();
	rw_modes();
	suffixes();
	errors();
	verify_defaults();
	pause_options();
}
