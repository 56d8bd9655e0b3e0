/* tokenize.h: token counts by OpenAI's byte-level BPE (o200k_base, cl100k_base) */
/* SPDX-License-Identifier: MIT */
#ifndef CORE_TOKENIZE_H
#define CORE_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

/* The encodings tollgate counts with ([billing] tokenizer_dir/NAME.tiktoken). */
enum tok_enc { TOK_O200K = 0, TOK_CL100K, TOK__MAX };

#define TOK_TEXT_MAX  (512u << 10) /* bytes counted; a longer text is scaled */
#define TOK_PIECE_MAX 256	   /* bytes merged at once (BPE is quadratic) */
#define TOK_FILE_MAX  (16u << 20)  /* bytes of one ranks file */

struct tok_ranks; /* one encoding's ranks, read only once loaded */

/* The file name of an encoding ("o200k_base"). */
const char *tok_enc_name(enum tok_enc);
/*
 * The encoding a model is counted with, by its name (a provider prefix such
 * as "openai/" is skipped): the table in tokenize.c; models of other makers
 * get cl100k_base, the nearest published vocabulary (an approximation).
 */
enum tok_enc tok_enc_of(const char *model);

/* Read one ranks file (OpenAI's format: "base64 rank" a line); NULL and err. */
struct tok_ranks *tok_load(
    const char *path, enum tok_enc, char *err, size_t errlen);
void tok_free(struct tok_ranks *);
/*
 * Tokens of text as encode_ordinary counts them.  At most TOK_TEXT_MAX bytes
 * are counted and the rest scaled by bytes; a piece longer than
 * TOK_PIECE_MAX is merged in slices.  Text need not be valid UTF-8.
 */
int64_t tok_count(const struct tok_ranks *, const char *text, size_t len);

/*
 * The process's encodings: tok_init loads every DIR/NAME.tiktoken it finds
 * (before the workers fork, so they share the pages) and returns how many;
 * the missing ones are named in err.  tok_get: NULL when not loaded.
 */
int tok_init(const char *dir, char *err, size_t errlen);
const struct tok_ranks *tok_get(enum tok_enc);
void tok_fini(void);

/* pretok.c: the end of the piece that starts at pos, by enc's split pattern. */
size_t pretok_next(enum tok_enc, const char *s, size_t len, size_t pos);

#endif
