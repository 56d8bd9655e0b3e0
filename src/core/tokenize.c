/* tokenize.c: OpenAI's byte-level BPE: the ranks files, the merges, the token count of a text */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/tokenize.h"
#include "core/util.h"

#define NO_RANK	  UINT32_MAX
#define TOKEN_MAX 255 /* bytes of one token in a ranks file */

/* One token: its bytes (in the pool) and rank; len 0 is an empty slot. */
struct slot {
	uint32_t off;
	uint32_t rank;
	uint32_t len;
};

struct tok_ranks {
	enum tok_enc enc;
	unsigned char *pool; /* every token's bytes, back to back */
	struct slot *slots;  /* open addressing, a power of two */
	size_t mask;
	size_t n;
};

/* The encodings, by name; and which models use which (prefix, first wins). */
static const char *const enc_names[TOK__MAX] = {
    [TOK_O200K] = "o200k_base", [TOK_CL100K] = "cl100k_base"};

static const struct {
	const char *prefix;
	enum tok_enc enc;
} model_encs[] = {
    {"gpt-4o", TOK_O200K},
    {"chatgpt-4o", TOK_O200K},
    {"gpt-4.1", TOK_O200K},
    {"gpt-4.5", TOK_O200K},
    {"gpt-5", TOK_O200K},
    {"gpt-oss", TOK_O200K},
    {"o1", TOK_O200K},
    {"o3", TOK_O200K},
    {"o4", TOK_O200K},
    {"codex-", TOK_O200K},
    {"gpt-4", TOK_CL100K},
    {"gpt-3.5", TOK_CL100K},
    {"text-embedding-3", TOK_CL100K},
    {"text-embedding-ada", TOK_CL100K},
};

static struct tok_ranks *loaded[TOK__MAX];

const char *
tok_enc_name(enum tok_enc e)
{
	return e >= 0 && e < TOK__MAX ? enc_names[e] : "?";
}

enum tok_enc
tok_enc_of(const char *model)
{
	const char *slash;
	size_t i;

	if (model == NULL)
		return TOK_CL100K;
	if ((slash = strrchr(model, '/')) != NULL)
		model = slash + 1; /* openai/gpt-4o on OpenRouter */
	for (i = 0; i < sizeof(model_encs) / sizeof(model_encs[0]); i++)
		if (strncmp(model, model_encs[i].prefix,
			strlen(model_encs[i].prefix)) == 0)
			return model_encs[i].enc;
	return TOK_CL100K;
}

/* --- the ranks table ------------------------------------------------------------------ */

static size_t
slot_of(const struct tok_ranks *t, const unsigned char *p, size_t n)
{
	return (size_t)util_fnv1a(UTIL_FNV_SEED, p, n) & t->mask;
}

static uint32_t
rank_of(const struct tok_ranks *t, const unsigned char *p, size_t n)
{
	size_t i = slot_of(t, p, n);

	for (; t->slots[i].len != 0; i = (i + 1) & t->mask)
		if (t->slots[i].len == n &&
		    memcmp(t->pool + t->slots[i].off, p, n) == 0)
			return t->slots[i].rank;
	return NO_RANK;
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 of s[0..n) into out (at most TOKEN_MAX); -1 when bad. */
static int
b64_decode(const char *s, size_t n, unsigned char *out)
{
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;
	int v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if ((v = b64_val((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == TOKEN_MAX)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)o;
}

/* Add one token; -1 when it is there already (a bad file). */
static int
put(struct tok_ranks *t, size_t *used, const unsigned char *p, size_t n,
    uint32_t rank)
{
	size_t i = slot_of(t, p, n);

	for (; t->slots[i].len != 0; i = (i + 1) & t->mask)
		if (t->slots[i].len == n &&
		    memcmp(t->pool + t->slots[i].off, p, n) == 0)
			return -1;
	memcpy(t->pool + *used, p, n);
	t->slots[i] = (struct slot){(uint32_t)*used, rank, (uint32_t)n};
	*used += n;
	t->n++;
	return 0;
}

/* The file's text, NUL-terminated; NULL with err. */
static char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f;
	struct stat st;
	char *s = NULL;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > TOK_FILE_MAX) {
		snprintf(err, errlen,
		    "%s: not a ranks file of at most %u bytes", path,
		    TOK_FILE_MAX);
		goto out;
	}
	*len = (size_t)st.st_size;
	if ((s = malloc(*len + 1)) == NULL || fread(s, 1, *len, f) != *len) {
		snprintf(err, errlen, "%s: cannot read", path);
		free(s);
		s = NULL;
		goto out;
	}
	s[*len] = '\0';
out:
	fclose(f);
	return s;
}

/* Every "base64 rank" line of text into t; -1 with err at the first bad one. */
static int
parse_ranks(
    struct tok_ranks *t, char *text, const char *path, char *err, size_t errlen)
{
	unsigned char tok[TOKEN_MAX];
	char *line, *eol, *next, *sp, *end;
	size_t used = 0, lineno = 0;
	unsigned long rank;
	int n;

	for (line = text; *line != '\0'; line = next) {
		lineno++;
		eol = strchr(line, '\n');
		next = eol != NULL ? eol + 1 : line + strlen(line);
		if (eol == NULL)
			eol = next;
		if (eol == line)
			continue; /* an empty line */
		if ((sp = memchr(line, ' ', (size_t)(eol - line))) == NULL ||
		    sp[1] < '0' || sp[1] > '9')
			goto bad;
		n = b64_decode(line, (size_t)(sp - line), tok);
		errno = 0;
		rank = strtoul(sp + 1, &end, 10);
		if (n <= 0 || errno != 0 || rank >= NO_RANK || end != eol ||
		    put(t, &used, tok, (size_t)n, (uint32_t)rank) == -1)
			goto bad;
	}
	if (t->n >= 256)
		return 0; /* every single byte is a token in a real file */
bad:
	snprintf(err, errlen,
	    "%s: line %zu is not \"base64 rank\" (or the file is short)", path,
	    lineno);
	return -1;
}

struct tok_ranks *
tok_load(const char *path, enum tok_enc enc, char *err, size_t errlen)
{
	struct tok_ranks *t;
	char *text;
	size_t len, lines = 0, i, size = 1024;

	if ((text = slurp(path, &len, err, errlen)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	while (size < 2 * (lines + 1))
		size *= 2; /* at most half full */
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->slots = calloc(size, sizeof(*t->slots))) == NULL ||
	    (t->pool = malloc(len)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	t->enc = enc;
	t->mask = size - 1;
	if (parse_ranks(t, text, path, err, errlen) == -1)
		goto fail;
	free(text);
	return t;
fail:
	free(text);
	tok_free(t);
	return NULL;
}

void
tok_free(struct tok_ranks *t)
{
	if (t == NULL)
		return;
	free(t->pool);
	free(t->slots);
	free(t);
}

/* --- counting ------------------------------------------------------------------------- */

/*
 * Tokens of one piece of at most TOK_PIECE_MAX bytes: tiktoken's
 * byte_pair_merge.  parts[i] starts at start[i]; rank[i] is the rank of
 * parts i and i+1 joined.  The lowest rank (the first of equals) merges
 * until no pair is a token; the parts left are the tokens.
 */
static size_t
bpe_piece(const struct tok_ranks *t, const unsigned char *p, size_t n)
{
	uint32_t start[TOK_PIECE_MAX + 2], rank[TOK_PIECE_MAX + 2];
	size_t m = n + 1, i, best;

	if (n <= 1)
		return n;
	if (rank_of(t, p, n) != NO_RANK)
		return 1; /* most pieces: one token */
	for (i = 0; i < m; i++) {
		start[i] = (uint32_t)i;
		rank[i] = i + 2 <= n ? rank_of(t, p + i, 2) : NO_RANK;
	}
	for (;;) {
		best = m;
		for (i = 0; i + 1 < m; i++)
			if (rank[i] != NO_RANK &&
			    (best == m || rank[i] < rank[best]))
				best = i;
		if (best == m)
			break;
			/* The ranks around the merge, as if part best+1 were gone. */
#define JOINED(k)                                                              \
	((k) + 3 < m ? rank_of(t, p + start[k], start[(k) + 3] - start[k])     \
		     : NO_RANK)
		if (best > 0)
			rank[best - 1] = JOINED(best - 1);
		rank[best] = JOINED(best);
#undef JOINED
		memmove(start + best + 1, start + best + 2,
		    (m - best - 2) * sizeof(start[0]));
		memmove(rank + best + 1, rank + best + 2,
		    (m - best - 2) * sizeof(rank[0]));
		m--;
	}
	return m - 1;
}

/* Tokens of the text's first len bytes (len <= TOK_TEXT_MAX). */
static int64_t
count_all(const struct tok_ranks *t, const char *s, size_t len)
{
	size_t pos = 0, end, k, n;
	int64_t total = 0;

	while (pos < len) {
		end = pretok_next(t->enc, s, len, pos);
		if (end <= pos)
			end = pos + 1; /* never stuck */
		for (k = pos; k < end; k += n) {
			n = end - k > TOK_PIECE_MAX ? TOK_PIECE_MAX : end - k;
			total += (int64_t)bpe_piece(
			    t, (const unsigned char *)s + k, n);
		}
		pos = end;
	}
	return total;
}

int64_t
tok_count(const struct tok_ranks *t, const char *text, size_t len)
{
	size_t head;
	int64_t n;

	if (t == NULL || text == NULL || len == 0)
		return 0;
	if (len <= TOK_TEXT_MAX)
		return count_all(t, text, len);
	/* A long text: its head counted, the rest at the head's rate. */
	head = util_utf8_cut(text, TOK_TEXT_MAX);
	if (head == 0)
		head = TOK_TEXT_MAX;
	n = count_all(t, text, head);
	return (int64_t)(((__int128)n * (__int128)len + head - 1) / head);
}

/* --- the process's encodings ---------------------------------------------------------- */

int
tok_init(const char *dir, char *err, size_t errlen)
{
	char path[4096], one[512];
	int e, got = 0;

	if (errlen > 0)
		err[0] = '\0';
	tok_fini();
	for (e = 0; e < TOK__MAX; e++) {
		snprintf(
		    path, sizeof(path), "%s/%s.tiktoken", dir, enc_names[e]);
		if ((loaded[e] = tok_load(
			 path, (enum tok_enc)e, one, sizeof(one))) != NULL) {
			got++;
			continue;
		}
		if (errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "%s", one);
	}
	return got;
}

const struct tok_ranks *
tok_get(enum tok_enc e)
{
	return e >= 0 && e < TOK__MAX ? loaded[e] : NULL;
}

void
tok_fini(void)
{
	int e;

	for (e = 0; e < TOK__MAX; e++) {
		tok_free(loaded[e]);
		loaded[e] = NULL;
	}
}
