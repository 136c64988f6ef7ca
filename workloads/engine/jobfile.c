/* jobfile.c - fio job-file syntax: [global] and [job] sections, key=value lines, bare flags, comments. */
#include "eng.h"

#define LINE_MAX_LEN 512

struct parser {
	struct jobfile *jf;
	struct job *cur; /* &jf->global inside [global], the current job, or NULL before any section */
	unsigned line;
};

static int fail(struct parser *p, const char *fmt, const char *arg)
{
	char msg[160];
	snprintf(msg, sizeof(msg), fmt, arg);
	snprintf(p->jf->err, sizeof(p->jf->err), "job file line %u: %s", p->line, msg);
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trims blanks at both ends of s[0..*n) in place; returns the new start. */
static char *trim(char *s, size_t *n)
{
	while (*n && is_blank(*s))
		s++, (*n)--;
	while (*n && is_blank(s[*n - 1]))
		(*n)--;
	s[*n] = 0;
	return s;
}

static const char *pool_dup(struct jobfile *jf, const char *s)
{
	size_t n = strlen(s) + 1;
	if (jf->pool_used + n > sizeof(jf->pool))
		return NULL;
	char *d = jf->pool + jf->pool_used;
	memcpy(d, s, n);
	jf->pool_used += n;
	return d;
}

/* Remembers key=value as given, for fio's "global options"/"job options" (bare flags are not listed). */
static int remember(struct parser *p, const char *key, const char *val)
{
	struct job *j = p->cur;
	if (!val)
		return 0;
	for (unsigned i = 0; i < j->nkv; i++)
		if (!strcmp(j->kv[i].key, key)) {
			j->kv[i].val = pool_dup(p->jf, val);
			return j->kv[i].val ? 0 : fail(p, "%s", "job file too large");
		}
	if (j->nkv == JOB_OPTS_MAX)
		return fail(p, "%s", "too many options in one section");
	j->kv[j->nkv].key = pool_dup(p->jf, key);
	j->kv[j->nkv].val = pool_dup(p->jf, val);
	if (!j->kv[j->nkv].key || !j->kv[j->nkv].val)
		return fail(p, "%s", "job file too large");
	j->nkv++;
	return 0;
}

static int section(struct parser *p, char *s, size_t n)
{
	if (n < 3 || s[n - 1] != ']')
		return fail(p, "bad section header '%s' (expected [name])", s);
	s[n - 1] = 0;
	s++;
	if (!*s)
		return fail(p, "%s", "empty section name");
	if (!strcmp(s, "global")) {
		p->cur = &p->jf->global;
		return 0;
	}
	if (p->jf->njobs == JOBS_MAX)
		return fail(p, "%s", "too many jobs");
	p->cur = &p->jf->jobs[p->jf->njobs++];
	*p->cur = p->jf->global; /* a job starts from the [global] values seen so far */
	p->cur->nkv = 0;
	snprintf(p->cur->name, sizeof(p->cur->name), "%s", s);
	p->cur->line = p->line;
	return 0;
}

static int option(struct parser *p, char *s)
{
	char err[160];
	char *eq = strchr(s, '=');
	char *val = NULL;
	size_t kn = eq ? (size_t)(eq - s) : strlen(s);
	if (eq) {
		size_t vn = strlen(eq + 1);
		val = trim(eq + 1, &vn);
	}
	char *key = trim(s, &kn);
	if (!p->cur)
		return fail(p, "option '%s' before any [section]", key);
	if (!*key)
		return fail(p, "%s", "missing option name before '='");
	if (opt_set(p->cur, key, val, err, sizeof(err)))
		return fail(p, "%s", err);
	return remember(p, key, val);
}

static int parse_line(struct parser *p, const char *text, size_t n)
{
	char buf[LINE_MAX_LEN];
	if (n >= sizeof(buf))
		return fail(p, "%s", "line too long");
	memcpy(buf, text, n);
	char *s = trim(buf, &n);
	if (!n || s[0] == ';' || s[0] == '#')
		return 0;
	if (s[0] == '[')
		return section(p, s, n);
	return option(p, s);
}

/* Defaults that depend on other options, and limits of this engine, once a job is complete. */
static int finish_job(struct parser *p, struct job *j)
{
	p->line = j->line;
	if (!(j->set & (1ull << opt_index("do_verify"))))
		j->do_verify = j->verify;
	if (j->verify && (j->rw == RW_RW || j->rw == RW_RANDRW))
		return fail(p, "job '%s': verify needs rw=read, write, randread or randwrite", j->name);
	if (j->time_based && !j->runtime_ns)
		return fail(p, "job '%s': time_based needs runtime", j->name);
	if (j->verify && j->bs < VFY_HDR_SIZE)
		return fail(p, "job '%s': verify needs bs of at least 32 bytes", j->name);
	const char *bad_rate = rate_check(j);
	if (bad_rate) {
		char msg[160];
		snprintf(msg, sizeof(msg), "job '%s': %s", j->name, bad_rate);
		return fail(p, "%s", msg);
	}
	return 0;
}

/* numjobs=N: the job becomes N consecutive clones (fio's), clone k at offset + k * offset_increment with its
 * own random sequence (randseed + k), all named like the job. */
static int expand_clones(struct parser *p)
{
	struct jobfile *jf = p->jf;
	unsigned total = 0;

	for (unsigned k = 0; k < jf->njobs; k++)
		total += jf->jobs[k].numjobs;
	if (total > JOBS_MAX) {
		snprintf(jf->err, sizeof(jf->err), "job file: %u jobs with their numjobs clones, at most %u", total,
			 JOBS_MAX);
		return -1;
	}
	unsigned all = total;
	for (unsigned k = jf->njobs; k-- > 0;) {
		struct job *j = &jf->jobs[k];
		unsigned n = j->numjobs, at = total - n;
		total = at;
		for (unsigned c = n; c-- > 0;) {
			struct job *d = &jf->jobs[at + c];
			if (d != j)
				*d = *j;
			d->clone = c;
			d->nclones = n;
			d->offset = j->offset + c * j->offset_increment;
			d->randseed = j->randseed + c;
		}
	}
	jf->njobs = all;
	return 0;
}

int jobfile_parse(struct jobfile *jf, const char *text, size_t len)
{
	struct parser p = {jf, NULL, 0};
	size_t i = 0;
	opt_defaults(&jf->global);
	while (i < len) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		p.line++;
		if (parse_line(&p, text + i, e - i))
			return -1;
		i = e + 1;
	}
	if (!jf->njobs) {
		snprintf(jf->err, sizeof(jf->err), "job file: no job section (add [name] before the options)");
		return -1;
	}
	for (unsigned k = 0; k < jf->njobs; k++)
		if (finish_job(&p, &jf->jobs[k]))
			return -1;
	return expand_clones(&p);
}
