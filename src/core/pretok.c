/* pretok.c: the pre-tokenizer splits of o200k_base and cl100k_base, by hand, without a regex engine */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "core/tokenize.h"

/*
 * OpenAI splits text into pieces by a regex before the BPE merges, and
 * merges never cross a piece.  The patterns (tiktoken's pat_str):
 *
 * cl100k_base: (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ |
 *   \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * o200k_base: [^\r\n\p{L}\p{N}]?U*L+C? | [^\r\n\p{L}\p{N}]?U+L*C? |
 *   \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 *   with U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], L = [\p{Ll}\p{Lm}\p{Lo}\p{M}]
 *   and C = (?i:'s|'t|'re|'ve|'m|'ll|'d).
 *
 * Each alternative is matched here as the backtracking engine would (first
 * alternative that matches wins, quantifiers greedy).  The Unicode classes
 * are exact for ASCII and approximate beyond it: ranges of the common
 * scripts' punctuation, symbols, digits, marks, spaces and letter case
 * (cls_of), every other code point a caseless letter (\p{Lo}).  Text that is
 * not UTF-8 counts each bad byte as a symbol.
 */

#define C_U   0x01 /* in o200k's U: Lu Lt Lm Lo M */
#define C_L   0x02 /* in o200k's L: Ll Lm Lo M */
#define C_LET 0x04 /* \p{L} */
#define C_NUM 0x08 /* \p{N} */
#define C_SP  0x10 /* \s */
#define C_NL  0x20 /* \r or \n */
#define C_END 0x80 /* past the text */

#define K_UP   (C_U | C_LET)
#define K_LOW  (C_L | C_LET)
#define K_LO   (C_U | C_L | C_LET)
#define K_MARK (C_U | C_L)
#define K_SYM  0

struct range {
	uint32_t lo, hi;
	unsigned char k;
};

/* Non-ASCII code points that are not caseless letters, sorted. */
static const struct range ranges[] = {
    {0x80, 0x84, K_SYM},
    {0x85, 0x85, C_SP},
    {0x86, 0x9f, K_SYM},
    {0xa0, 0xa0, C_SP},
    {0xa1, 0xa9, K_SYM},
    {0xaa, 0xaa, K_LO},
    {0xab, 0xb1, K_SYM},
    {0xb2, 0xb3, C_NUM},
    {0xb4, 0xb4, K_SYM},
    {0xb5, 0xb5, K_LOW},
    {0xb6, 0xb8, K_SYM},
    {0xb9, 0xb9, C_NUM},
    {0xba, 0xba, K_LO},
    {0xbb, 0xbb, K_SYM},
    {0xbc, 0xbe, C_NUM},
    {0xbf, 0xbf, K_SYM},
    {0xc0, 0xd6, K_UP},
    {0xd7, 0xd7, K_SYM},
    {0xd8, 0xde, K_UP},
    {0xdf, 0xf6, K_LOW},
    {0xf7, 0xf7, K_SYM},
    {0xf8, 0xff, K_LOW},
    {0x250, 0x2af, K_LOW},
    {0x2b0, 0x2c1, K_LO},
    {0x2c2, 0x2c5, K_SYM},
    {0x2c6, 0x2d1, K_LO},
    {0x2d2, 0x2df, K_SYM},
    {0x2e0, 0x2e4, K_LO},
    {0x2e5, 0x2ff, K_SYM},
    {0x300, 0x36f, K_MARK},
    {0x37e, 0x37e, K_SYM},
    {0x384, 0x385, K_SYM},
    {0x386, 0x386, K_UP},
    {0x387, 0x387, K_SYM},
    {0x388, 0x3ab, K_UP},
    {0x3ac, 0x3ce, K_LOW},
    {0x3cf, 0x3cf, K_UP},
    {0x400, 0x42f, K_UP},
    {0x430, 0x45f, K_LOW},
    {0x482, 0x482, K_SYM},
    {0x483, 0x489, K_MARK},
    {0x531, 0x556, K_UP},
    {0x55a, 0x55f, K_SYM},
    {0x560, 0x588, K_LOW},
    {0x589, 0x58a, K_SYM},
    {0x591, 0x5bd, K_MARK},
    {0x5be, 0x5be, K_SYM},
    {0x5bf, 0x5c7, K_MARK},
    {0x5f3, 0x5f4, K_SYM},
    {0x600, 0x60f, K_SYM},
    {0x610, 0x61a, K_MARK},
    {0x61b, 0x61f, K_SYM},
    {0x64b, 0x65f, K_MARK},
    {0x660, 0x669, C_NUM},
    {0x66a, 0x66d, K_SYM},
    {0x670, 0x670, K_MARK},
    {0x6d4, 0x6d4, K_SYM},
    {0x6d6, 0x6dc, K_MARK},
    {0x6dd, 0x6de, K_SYM},
    {0x6df, 0x6e4, K_MARK},
    {0x6e7, 0x6e8, K_MARK},
    {0x6ea, 0x6ed, K_MARK},
    {0x6f0, 0x6f9, C_NUM},
    {0x900, 0x903, K_MARK},
    {0x93a, 0x93c, K_MARK},
    {0x93e, 0x94f, K_MARK},
    {0x951, 0x957, K_MARK},
    {0x962, 0x963, K_MARK},
    {0x964, 0x965, K_SYM},
    {0x966, 0x96f, C_NUM},
    {0x970, 0x970, K_SYM},
    {0x981, 0x983, K_MARK},
    {0x9bc, 0x9bc, K_MARK},
    {0x9be, 0x9cd, K_MARK},
    {0x9e6, 0x9ef, C_NUM},
    {0xe31, 0xe31, K_MARK},
    {0xe34, 0xe3a, K_MARK},
    {0xe3f, 0xe3f, K_SYM},
    {0xe47, 0xe4e, K_MARK},
    {0xe4f, 0xe4f, K_SYM},
    {0xe50, 0xe59, C_NUM},
    {0xe5a, 0xe5b, K_SYM},
    {0x1680, 0x1680, C_SP},
    {0x1ab0, 0x1aff, K_MARK},
    {0x1dc0, 0x1dff, K_MARK},
    {0x2000, 0x200a, C_SP},
    {0x200b, 0x2027, K_SYM},
    {0x2028, 0x2029, C_SP},
    {0x202a, 0x202e, K_SYM},
    {0x202f, 0x202f, C_SP},
    {0x2030, 0x205e, K_SYM},
    {0x205f, 0x205f, C_SP},
    {0x2060, 0x206f, K_SYM},
    {0x2070, 0x2070, C_NUM},
    {0x2071, 0x2071, K_LOW},
    {0x2074, 0x2079, C_NUM},
    {0x207a, 0x207e, K_SYM},
    {0x207f, 0x207f, K_LOW},
    {0x2080, 0x2089, C_NUM},
    {0x208a, 0x208e, K_SYM},
    {0x20a0, 0x20cf, K_SYM},
    {0x20d0, 0x20ff, K_MARK},
    {0x2100, 0x214f, K_SYM},
    {0x2150, 0x2189, C_NUM},
    {0x218a, 0x245f, K_SYM},
    {0x2460, 0x249b, C_NUM},
    {0x249c, 0x24e9, K_SYM},
    {0x24ea, 0x24ff, C_NUM},
    {0x2500, 0x2775, K_SYM},
    {0x2776, 0x2793, C_NUM},
    {0x2794, 0x2bff, K_SYM},
    {0x2e00, 0x2e7f, K_SYM},
    {0x2e80, 0x2fff, K_SYM},
    {0x3000, 0x3000, C_SP},
    {0x3001, 0x3004, K_SYM},
    {0x3007, 0x3007, C_NUM},
    {0x3008, 0x3020, K_SYM},
    {0x3021, 0x3029, C_NUM},
    {0x302a, 0x302f, K_MARK},
    {0x3030, 0x3030, K_SYM},
    {0x303d, 0x303f, K_SYM},
    {0x3099, 0x309a, K_MARK},
    {0x309b, 0x309c, K_SYM},
    {0x30a0, 0x30a0, K_SYM},
    {0x30fb, 0x30fb, K_SYM},
    {0x3200, 0x33ff, K_SYM},
    {0xa490, 0xa4cf, K_SYM},
    {0xd800, 0xf8ff, K_SYM},
    {0xfb1e, 0xfb1e, K_MARK},
    {0xfd3e, 0xfd3f, K_SYM},
    {0xfe00, 0xfe0f, K_MARK},
    {0xfe10, 0xfe19, K_SYM},
    {0xfe20, 0xfe2f, K_MARK},
    {0xfe30, 0xfe6f, K_SYM},
    {0xfeff, 0xfeff, K_SYM},
    {0xff01, 0xff0f, K_SYM},
    {0xff10, 0xff19, C_NUM},
    {0xff1a, 0xff20, K_SYM},
    {0xff21, 0xff3a, K_UP},
    {0xff3b, 0xff40, K_SYM},
    {0xff41, 0xff5a, K_LOW},
    {0xff5b, 0xff65, K_SYM},
    {0xffe0, 0xffff, K_SYM},
    {0x10100, 0x1013f, K_SYM},
    {0x1d000, 0x1d24f, K_SYM},
    {0x1d400, 0x1d7ff, K_LO},
    {0x1f000, 0x1faff, K_SYM},
    {0xe0000, 0xe007f, K_SYM},
    {0xe0100, 0xe01ef, K_MARK},
    {0xf0000, 0x10ffff, K_SYM},
};

/* Blocks whose case alternates: upper at even code points (or odd). */
struct alt {
	uint32_t lo, hi;
	unsigned char upper_odd;
};
static const struct alt alts[] = {
    {0x100, 0x137, 0},
    {0x139, 0x148, 1},
    {0x14a, 0x177, 0},
    {0x179, 0x17e, 1},
    {0x180, 0x24f, 0},
    {0x3d8, 0x3ef, 0},
    {0x460, 0x481, 0},
    {0x48a, 0x4bf, 0},
    {0x4c1, 0x4ce, 1},
    {0x4d0, 0x52f, 0},
    {0x1e00, 0x1e95, 0},
    {0x1ea0, 0x1eff, 0},
    {0x2c80, 0x2ce3, 0},
    {0xa640, 0xa66d, 0},
    {0xa722, 0xa76f, 0},
};

static unsigned
cls_of(uint32_t c)
{
	size_t lo = 0, hi = sizeof(ranges) / sizeof(ranges[0]), mid, i;

	for (i = 0; i < sizeof(alts) / sizeof(alts[0]); i++)
		if (c >= alts[i].lo && c <= alts[i].hi)
			return ((c & 1) == alts[i].upper_odd) ? K_UP : K_LOW;
	if (c >= 0x1f00 && c <= 0x1fff) /* Greek extended: 8 lower, 8 upper */
		return (c & 8) ? K_UP : K_LOW;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (c < ranges[mid].lo)
			hi = mid;
		else if (c > ranges[mid].hi)
			lo = mid + 1;
		else
			return ranges[mid].k;
	}
	return K_LO;
}

/* ASCII: exact. */
static unsigned
cls_ascii(unsigned char b)
{
	if (b >= 'A' && b <= 'Z')
		return K_UP;
	if (b >= 'a' && b <= 'z')
		return K_LOW;
	if (b >= '0' && b <= '9')
		return C_NUM;
	if (b == '\r' || b == '\n')
		return C_SP | C_NL;
	if (b == ' ' || (b >= '\t' && b <= '\f'))
		return C_SP;
	return K_SYM;
}

/* The class of the character at i, and where the next one starts (*next). */
static unsigned
cls_at(const unsigned char *s, size_t len, size_t i, size_t *next)
{
	uint32_t c;
	size_t n, k;

	if (i >= len) {
		*next = len;
		return C_END;
	}
	if (s[i] < 0x80) {
		*next = i + 1;
		return cls_ascii(s[i]);
	}
	n = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 0;
	if (n == 0 || s[i] >= 0xf8 || i + n > len) {
		*next = i + 1;
		return K_SYM;
	}
	c = s[i] & (0x7f >> n);
	for (k = 1; k < n; k++) {
		if ((s[i + k] & 0xc0) != 0x80) {
			*next = i + 1;
			return K_SYM;
		}
		c = c << 6 | (s[i + k] & 0x3f);
	}
	*next = i + n;
	return cls_of(c);
}

/* The end of the run of characters whose class has a bit of mask. */
static size_t
run(const unsigned char *s, size_t len, size_t i, unsigned mask)
{
	size_t next;

	while (cls_at(s, len, i, &next) & mask)
		i = next;
	return i;
}

/* [^\r\n\p{L}\p{N}] */
static int
is_p(unsigned k)
{
	return !(k & (C_LET | C_NUM | C_NL | C_END));
}

/* [^\s\p{L}\p{N}] */
static int
is_o(unsigned k)
{
	return !(k & (C_SP | C_LET | C_NUM | C_END));
}

/* The end of (?i:'s|'t|'re|'ve|'m|'ll|'d) at i, or i. */
static size_t
contraction(const unsigned char *s, size_t len, size_t i)
{
	unsigned char a, b;

	if (i + 1 >= len || s[i] != '\'')
		return i;
	a = s[i + 1] | 0x20;
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return i + 2;
	if (i + 2 >= len)
		return i;
	b = s[i + 2] | 0x20;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
	    (a == 'l' && b == 'l'))
		return i + 3;
	return i;
}

/*
 * o200k's first two alternatives, at i0: P? U* L+ C? (upper_first 0) or
 * P? U+ L* C?; 0 when neither form matches.  U* backtracks to leave L+ one
 * character: the last one of the U run that is also in L.
 */
static size_t
o200k_word(const unsigned char *s, size_t len, size_t i0, int upper_first)
{
	size_t i, j, next, both_end;
	unsigned k;
	int p;

	for (p = 1; p >= 0; p--) {
		i = i0;
		if (p) {
			if (!is_p(cls_at(s, len, i0, &next)))
				continue;
			i = next;
		}
		j = i;
		both_end = 0;
		while ((k = cls_at(s, len, j, &next)) & C_U) {
			if (k & C_L)
				both_end = next;
			j = next;
		}
		if (upper_first) {
			if (j == i)
				continue;
			return contraction(s, len, run(s, len, j, C_L));
		}
		if (k & C_L)
			return contraction(s, len, run(s, len, j, C_L));
		if (both_end != 0)
			return contraction(s, len, both_end);
	}
	return 0;
}

/* cl100k's second alternative: P? \p{L}+ (0: no match). */
static size_t
cl100k_word(const unsigned char *s, size_t len, size_t i0)
{
	size_t next, after;
	unsigned k = cls_at(s, len, i0, &next);

	if (is_p(k) && (cls_at(s, len, next, &after) & C_LET))
		return run(s, len, next, C_LET);
	if (k & C_LET)
		return run(s, len, i0, C_LET);
	return 0;
}

/* \p{N}{1,3} (0: no match). */
static size_t
digits(const unsigned char *s, size_t len, size_t i)
{
	size_t next, n;

	for (n = 0; n < 3 && (cls_at(s, len, i, &next) & C_NUM); n++)
		i = next;
	return n > 0 ? i : 0;
}

/* ' '?[^\s\p{L}\p{N}]+ then [\r\n]* (or [\r\n/]* with slash) (0: none). */
static size_t
symbols(const unsigned char *s, size_t len, size_t i, int slash)
{
	size_t next;

	if (s[i] == ' ' && is_o(cls_at(s, len, i + 1, &next)))
		i++;
	if (!is_o(cls_at(s, len, i, &next)))
		return 0;
	while (is_o(cls_at(s, len, i, &next)))
		i = next;
	while (
	    i < len && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')))
		i++;
	return i;
}

/* \s*[\r\n]+ | \s+(?!\S) | \s+ at i, which is a space. */
static size_t
spaces(const unsigned char *s, size_t len, size_t i0)
{
	size_t i = i0, next, nl_end = 0, last = i0;
	unsigned k;

	while ((k = cls_at(s, len, i, &next)) & C_SP) {
		if (k & C_NL)
			nl_end = next;
		last = i;
		i = next;
	}
	if (nl_end != 0)
		return nl_end; /* \s* backs off to the last line break */
	if (i == len || last == i0)
		return i;
	return last; /* the last space goes with what follows */
}

size_t
pretok_next(enum tok_enc enc, const char *text, size_t len, size_t pos)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t e, next;
	unsigned k;

	if (pos >= len)
		return len;
	if (enc == TOK_O200K) {
		if ((e = o200k_word(s, len, pos, 0)) != 0 ||
		    (e = o200k_word(s, len, pos, 1)) != 0)
			return e;
	} else {
		if ((e = contraction(s, len, pos)) != pos ||
		    (e = cl100k_word(s, len, pos)) != 0)
			return e;
	}
	if ((e = digits(s, len, pos)) != 0 ||
	    (e = symbols(s, len, pos, enc == TOK_O200K)) != 0)
		return e;
	k = cls_at(s, len, pos, &next);
	if (k & C_SP)
		return spaces(s, len, pos);
	return next; /* unreachable by the classes; one character */
}
