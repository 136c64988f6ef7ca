/* offsets.c - where the next I/O goes: fio-like sequential and random offsets, rwmix, deterministic PRNG. */
#include "eng.h"

/* splitmix64: tiny, full-period over 2^64 seeds, good enough for offsets and payloads. */
void rng_seed(struct eng_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t rng_next(struct eng_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Lemire's multiply-high reduction: no division, bias below 2^-40 for any realistic block count. */
uint64_t rng_below(struct eng_rng *r, uint64_t n)
{
	return (uint64_t)(((eng_u128)rng_next(r) * n) >> 64);
}

/* A keyed Feistel network is a bijection on [0, 2^(2*half)); walking a counter through it and skipping
 * values past the last block visits every block exactly once per pass, in a random-looking order: fio's
 * default random map (norandommap=0) without the map. A new key starts each pass. */
static uint64_t mix(uint64_t x, uint64_t key)
{
	x = (x ^ key) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 31)) * 0x94d049bb133111ebull;
	return x ^ (x >> 29);
}

static uint64_t feistel(const struct offgen *g, uint64_t x)
{
	uint64_t mask = (1ull << g->perm_half) - 1, l = x >> g->perm_half, r = x & mask;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t t = l ^ (mix(r, g->perm_key + i) & mask);
		l = r;
		r = t;
	}
	return (l << g->perm_half) | r;
}

static uint64_t perm_next(struct offgen *g)
{
	uint64_t v;
	do {
		if (g->perm_ctr >> (2 * g->perm_half)) {
			g->perm_ctr = 0;
			g->perm_key = rng_next(&g->off_rng);
		}
		v = feistel(g, g->perm_ctr++);
	} while (v >= g->nblocks);
	return v;
}

/* Offsets use one stream, the read/write choice another (as fio keeps separate generators), so a
 * randrw job hits the same blocks whatever the mix. */
void offgen_init(struct offgen *g, const struct job *j, uint64_t start, uint64_t len, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->start = start;
	g->len = len;
	g->bs = j->bs;
	g->nblocks = len / j->bs;
	g->rw = j->rw;
	g->rwmixread = j->rwmixread;
	rng_seed(&g->off_rng, seed);
	rng_seed(&g->mix_rng, seed ^ 0x5851f42d4c957f2dull);
	g->perm_key = rng_next(&g->off_rng);
	g->perm_half = 1; /* the smallest even-bit domain holding every block index */
	while (g->nblocks > 1 && (g->nblocks - 1) >> (2 * g->perm_half))
		g->perm_half++;
}

uint64_t offgen_ios_per_pass(const struct offgen *g)
{
	if (RW_IS_RAND(g->rw))
		return g->nblocks;
	return (g->len + g->bs - 1) / g->bs;
}

uint8_t offgen_ddir(struct offgen *g)
{
	if (!RW_HAS_WRITE(g->rw))
		return DDIR_READ;
	if (!RW_HAS_READ(g->rw))
		return DDIR_WRITE;
	return rng_below(&g->mix_rng, 100) < g->rwmixread ? DDIR_READ : DDIR_WRITE;
}

/* Sequential: each direction walks [start, start + len) in bs steps and wraps (time_based runs).
 * Random: every whole block of the region once per pass, aligned to bs from start. */
uint64_t offgen_offset(struct offgen *g, uint8_t ddir)
{
	if (RW_IS_RAND(g->rw))
		return g->start + perm_next(g) * g->bs;
	uint64_t off = g->next[ddir];
	g->next[ddir] = off + g->bs >= g->len ? 0 : off + g->bs;
	return g->start + off;
}
