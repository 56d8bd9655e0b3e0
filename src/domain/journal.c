/* journal.c: settled requests (lease carves, exact holds the database missed) in a local file first, then the database */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "io/db.h"
#include "io/gsync.h"
#include "store/q_ledger.h"
#include "store/stmt.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "core/log.h"
#include "core/util.h"

#define LINE_MAX_BYTES (64u << 10)  /* a record is a few hundred bytes */
#define READ_BYTES     (256u << 10) /* read per batch; over LINE_MAX_BYTES */
#define BATCH_MAX      512	    /* records per transaction */
#define ROTATE_BYTES   (16u << 20) /* a written-out file this big is replaced */
#define NAME_MAX_LEN   256
#define PATH_MAX_LEN   4096
#define PENDING_MAX    (4u << 20) /* unwritten bytes the sweeper reads */
#define EXACT_TAG      "x "	  /* the line of an exact hold starts so */
#define KIND_LINE_MAX  (READ_BYTES - (8u << 10)) /* always read whole */

/*
 * Records that move no money, each kind a line of its own tag and the columns
 * of its batch statement, written out in the transaction of the batch they
 * fall in (issue 18: conversation logs, refused requests).
 */
/* clang-format off */
static const struct {
	char tag;
	size_t cols;
	enum batch batch;
	size_t max; /* rows per transaction */
} kinds[JK__MAX] = {
	[JK_CONV]    = { 'c', 17, BATCH_CONV,	 128 },
	[JK_REFUSED] = { 'r', 13, BATCH_REFUSED, 512 },
};
/* clang-format on */

struct journal {
	char *dir;
	char *legacy; /* issue 20: the old place (run_dir), its dead files */
	char host[64];
	char name[NAME_MAX_LEN]; /* file name of this process's journal */
	int fd;			 /* O_APPEND, flocked */
	int64_t off;		 /* written to the database up to here */
	unsigned gen, ticks;
	int resync; /* a write-out failed: its commit may have happened */
	int sync;   /* fdatasync each line before the answer */
	pthread_rwlock_t rot; /* appends share it; rotation takes it alone */
	struct gsync gs; /* journal_sync: concurrent appends share flushes */
};

static int
open_own(struct journal *j)
{
	char path[PATH_MAX_LEN];

	snprintf(j->name, sizeof(j->name), "%ld-%lld-%u.j", (long)getpid(),
	    (long long)time(NULL), j->gen++);
	snprintf(path, sizeof(path), "%s/%s", j->dir, j->name);
	j->fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (j->fd == -1)
		return -1;
	if (flock(j->fd, LOCK_EX | LOCK_NB) == -1) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	j->off = 0;
	return 0;
}

struct journal *
journal_open(const char *dir, int sync, char *err, size_t errlen)
{
	struct journal *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->dir = strdup(dir)) == NULL) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->sync = sync;
	if (gethostname(j->host, sizeof(j->host) - 1) == -1)
		snprintf(j->host, sizeof(j->host), "localhost");
	pthread_rwlock_init(&j->rot, NULL);
	gsync_init(&j->gs);
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) || open_own(j) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(j->dir);
		free(j);
		return NULL;
	}
	return j;
}

/* --- one line ------------------------------------------------------------------------------ */

/* crypto_hex at o, which has room for its NUL (the next byte written). */
static char *
put_hex(char *o, const void *p, size_t n)
{
	crypto_hex(p, n, o);
	return o + 2 * n;
}

/* v in decimal: at most 20 bytes with its sign. */
static char *
put_i64(char *o, int64_t v)
{
	char t[20];
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n = 0;

	if (v < 0)
		*o++ = '-';
	do
		t[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	while (n > 0)
		*o++ = t[--n];
	return o;
}

/* The line's room for cols (as put_cols writes them). */
static size_t
cols_room(const struct db_val *cols, size_t n)
{
	size_t i, room = 0;

	for (i = 0; i < n; i++)
		room += cols[i].type == DBT_STR ? 2 + 2 * cols[i].len : 2 + 20;
	return room;
}

/* cols at o, each after a space: i<decimal>, s<hex> or - (NULL). */
static char *
put_cols(char *o, const struct db_val *cols, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*o++ = ' ';
		if (cols[i].type == DBT_I64) {
			*o++ = 'i';
			o = put_i64(o, cols[i].i);
		} else if (cols[i].type == DBT_STR) {
			*o++ = 's';
			o = put_hex(o, cols[i].s, cols[i].len);
		} else {
			*o++ = '-';
		}
	}
	return o;
}

uint64_t
journal_flushes(struct journal *j)
{
	return gsync_flushes(&j->gs);
}

/* One whole line into the file: 0, or -1 when it is not all written. */
static int
put_line(struct journal *j, const char *line, size_t n, int sync)
{
	ssize_t w;
	int rc;

	pthread_rwlock_rdlock(&j->rot);
	/* One write() per line: O_APPEND keeps lines whole between threads. */
	w = write(j->fd, line, n);
	/*
	 * Written, a line survives the process; synced, the machine too.  A
	 * line that was written but not synced is still in the file: it is
	 * counted as written (settling it again elsewhere would charge it
	 * twice).
	 */
	rc = w == (ssize_t)n ? 0 : -1;
	/* The rotation lock is held: the file cannot change under the flush. */
	if (rc == 0 && sync && gsync_wait(&j->gs, j->fd) == -1)
		log_msg(LOG_ERR,
		    "journal: fdatasync (%s): a line may not survive "
		    "a crash of the machine",
		    strerror(errno));
	pthread_rwlock_unlock(&j->rot);
	if (w > 0 && rc == -1)
		log_msg(LOG_ERR, "journal: a short write (%s): a line is lost",
		    strerror(errno));
	return rc;
}

/*
 * The line is built in one allocation sized from the record (hex doubles a
 * string; a number takes at most 20 bytes), not by formatted appends: it is
 * on every request's path.
 */
int
journal_append(struct journal *j, const struct journal_rec *r)
{
	char *line, *o;
	size_t room = 2 + 4 * HOLD_ID_LEN + 1 + 3 * 21 + 1;
	int rc;

	room += cols_room(r->usage, LEDGER_USAGE_COLS);
	if (room > LINE_MAX_BYTES || (line = malloc(room)) == NULL)
		return -1;
	o = line;
	if (r->exact) {
		memcpy(o, EXACT_TAG, 2);
		o += 2;
	}
	o = put_hex(o, r->lease_id, HOLD_ID_LEN);
	*o++ = ' ';
	o = put_hex(o, r->carve_id, HOLD_ID_LEN);
	*o++ = ' ';
	o = put_i64(o, r->user_id);
	*o++ = ' ';
	o = put_i64(o, r->key_id);
	*o++ = ' ';
	o = put_i64(o, r->charge);
	o = put_cols(o, r->usage, LEDGER_USAGE_COLS);
	*o++ = '\n';
	rc = put_line(j, line, (size_t)(o - line), j->sync);
	free(line);
	return rc;
}

int
journal_append_kind(
    struct journal *j, enum journal_kind k, const struct db_val *cols, size_t n)
{
	size_t room = 2 + cols_room(cols, n) + 2;
	char *line, *o;
	int rc;

	if (k >= JK__MAX || n != kinds[k].cols || room > KIND_LINE_MAX ||
	    (line = malloc(room)) == NULL)
		return -1;
	/* The tag's space is the first column's (put_cols puts one before each). */
	line[0] = kinds[k].tag;
	o = put_cols(line + 1, cols, n);
	*o++ = '\n';
	/* Nothing of money: not worth an fdatasync per line (a 429 flood). */
	rc = put_line(j, line, (size_t)(o - line), 0);
	free(line);
	return rc;
}

/* --- reading ------------------------------------------------------------------------------- */

struct line {
	unsigned char lease[HOLD_ID_LEN], carve[HOLD_ID_LEN];
	int64_t user, key, charge;
	struct db_val usage[LEDGER_USAGE_COLS];
	int open;  /* its lease was open when written out */
	int exact; /* an exact hold (lease: its id), settled by its id */
};

/*
 * Usage columns added since the first journal format: a line written before
 * an upgrade has JOURNAL_COLS_V1 and gets these for the rest.
 */
#define JOURNAL_COLS_V1	     30
#define JOURNAL_COL_ENDPOINT 4 /* usage_params' columns */
#define JOURNAL_COL_API	     33
/* clang-format off */
static const struct db_val newer_cols[LEDGER_USAGE_COLS - JOURNAL_COLS_V1] = {
	{.type = DBT_I64, .i = 0},		     /* overrun: within the carve */
	{.type = DBT_STR, .s = "measured", .len = 8}, /* charge_basis */
	{.type = DBT_NULL},			     /* client_request_id */
	{.type = DBT_NULL}, /* api: the endpoint's, parse_line */
	{.type = DBT_I64, .i = 0}, /* cache_write_tokens */
	{.type = DBT_I64, .i = 0}, /* cache_write_price */
};
/* clang-format on */

/* One column as put_cols wrote it (strings in a); -1 when malformed. */
static int
parse_val(const char *tok, struct arena *a, struct db_val *v)
{
	unsigned char *bin;
	size_t n;

	if (tok[0] == 'i') {
		*v = DB_I64(strtoll(tok + 1, NULL, 10));
	} else if (tok[0] == 's') {
		n = strlen(tok + 1);
		if (n % 2 != 0 || (bin = arena_alloc(a, n / 2 + 1)) == NULL ||
		    crypto_unhex(tok + 1, n / 2, bin) == -1)
			return -1;
		bin[n / 2] = '\0';
		*v = (struct db_val){
		    .type = DBT_STR, .s = (const char *)bin, .len = n / 2};
	} else if (tok[0] == '-' && tok[1] == '\0') {
		*v = DB_NULLV;
	} else {
		return -1;
	}
	return 0;
}

/* A line of a kind without money (after its tag) into row, ncols columns. */
static int
parse_kind(char *p, struct arena *a, struct db_val *row, size_t ncols)
{
	char *tok, *save = NULL;
	size_t i;

	for (i = 0; i < ncols; i++)
		if ((tok = strtok_r(i == 0 ? p : NULL, " ", &save)) == NULL ||
		    parse_val(tok, a, &row[i]) == -1)
			return -1;
	return strtok_r(NULL, " ", &save) == NULL ? 0 : -1;
}

/* Parse one line (NUL-terminated, no newline) into l; -1 when malformed. */
static int
parse_line(char *p, struct arena *a, struct line *l)
{
	char *tok, *save = NULL;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (strncmp(p, EXACT_TAG, 2) == 0) {
		l->exact = 1;
		p += 2;
	}
	if ((tok = strtok_r(p, " ", &save)) == NULL || strlen(tok) != 32 ||
	    crypto_unhex(tok, HOLD_ID_LEN, l->lease) == -1)
		return -1;
	if ((tok = strtok_r(NULL, " ", &save)) == NULL || strlen(tok) != 32 ||
	    crypto_unhex(tok, HOLD_ID_LEN, l->carve) == -1)
		return -1;
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	l->user = strtoll(tok, NULL, 10);
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	l->key = strtoll(tok, NULL, 10);
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	l->charge = strtoll(tok, NULL, 10);
	for (i = 0; i < LEDGER_USAGE_COLS; i++) {
		if ((tok = strtok_r(NULL, " ", &save)) == NULL &&
		    i >= JOURNAL_COLS_V1) {
			/* A line of an older build: its columns' defaults. */
			l->usage[i] = newer_cols[i - JOURNAL_COLS_V1];
			continue;
		}
		if (tok == NULL || parse_val(tok, a, &l->usage[i]) == -1)
			return -1;
	}
	/* Before the api column every client spoke its endpoint's API. */
	if (l->usage[JOURNAL_COL_API].type == DBT_NULL)
		l->usage[JOURNAL_COL_API] = l->usage[JOURNAL_COL_ENDPOINT];
	return l->user > 0 && l->charge >= 0 ? 0 : -1;
}

/* --- writing out --------------------------------------------------------------------------- */

/* The per-lease, per-account and per-key sums of a batch. */
struct sum {
	const unsigned char *id; /* lease */
	int64_t who;		 /* account or key */
	int64_t amount;
	int64_t n;
	int open;
};

static size_t
add(struct sum *s, size_t n, const unsigned char *id, int64_t who,
    int64_t amount)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (id != NULL ? memcmp(s[i].id, id, HOLD_ID_LEN) == 0
			       : s[i].who == who)
			break;
	if (i == n)
		s[n++] = (struct sum){.id = id, .who = who};
	s[i].amount += amount;
	s[i].n++;
	return n;
}

static struct db_val
bin(const unsigned char *p)
{
	return (struct db_val){
	    .type = DBT_STR, .s = (const char *)p, .len = HOLD_ID_LEN};
}

/*
 * Usage records (BATCH_USAGE, BATCH_REFUSED) are unique by request id through
 * usage_keys, which a trigger fills in the same statement (schema 0022: the
 * partitioned table cannot hold the UNIQUE key), and INSERT IGNORE does not
 * ignore a trigger's duplicate: a line written out again fails its batch with
 * 1062.  Then the batch goes row by row and each duplicate is skipped; InnoDB
 * undoes only the failed statement, so the transaction goes on.
 */
static enum tg_err
insert_unique(struct db_conn *c, unsigned batch, const struct db_val *rows,
    size_t n, size_t cols, struct arena *a)
{
	enum tg_err rc;
	size_t i;

	if ((rc = db_exec_rows(c, batch, rows, n, a)) != TG_ECONFLICT)
		return rc;
	for (i = 0; i < n; i++) {
		rc = db_exec_rows(c, batch, rows + i * cols, 1, a);
		if (rc != TG_OK && rc != TG_ECONFLICT)
			return rc;
	}
	return TG_OK;
}

/*
 * The rows of lines[0..n): a ledger entry for each line whose lease was open,
 * a usage record for each (rows: room for either, n x LEDGER_USAGE_COLS).
 */
static enum tg_err
write_rows(struct db_conn *c, struct arena *a, struct line *lines, size_t n,
    struct db_val *rows)
{
	struct db_val *u;
	size_t i, nr = 0;
	enum tg_err rc;

	for (i = 0; i < n; i++) {
		char hex[2 * HOLD_ID_LEN + 1];

		if (!lines[i].open)
			continue;
		crypto_hex(lines[i].carve, HOLD_ID_LEN, hex);
		u = &rows[nr++ * 5];
		u[0] = DB_I64(lines[i].user);
		u[1] = bin(lines[i].lease);
		u[2] = DB_STR("charge");
		u[3] = DB_I64(-lines[i].charge);
		u[4] = DB_STR(arena_printf(a, "carve:%s", hex));
	}
	if (nr > 0 &&
	    (rc = db_exec_rows(c, BATCH_LEDGER, rows, nr, a)) != TG_OK)
		return rc;
	for (i = 0; i < n; i++) {
		u = &rows[i * LEDGER_USAGE_COLS];
		memcpy(u, lines[i].usage, sizeof(lines[i].usage));
		u[3] = bin(lines[i].lease);
		u[19] = DB_I64(lines[i].charge);
	}
	if (n > 0 &&
	    (rc = insert_unique(
		 c, BATCH_USAGE, rows, n, LEDGER_USAGE_COLS, a)) != TG_OK)
		return rc;
	return TG_OK;
}

/* A batch's rows of the kinds without money (kinds[k].cols each). */
struct extras {
	struct db_val *rows[JK__MAX];
	size_t n[JK__MAX];
};

/*
 * One transaction for lines[0..n) and the records without money ex: the
 * money, the rows, the new offset.
 */
static enum tg_err
write_out(struct db_conn *c, struct arena *a, struct line *lines, size_t n,
    const struct extras *ex, const char *mark, int64_t new_off,
    struct sum *leases, size_t *nleases, struct db_val *rows)
{
	struct sum *accts, *keys;
	struct db_val p[2];
	struct db_rows res;
	size_t i, k, nl = 0, na = 0, nk = 0;
	enum tg_err rc;

	/* n may be 0: a batch of exact holds (or records) still moves the mark. */
	accts = arena_calloc(a, n + 1, sizeof(*accts));
	keys = arena_calloc(a, n + 1, sizeof(*keys));
	if (accts == NULL || keys == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < n; i++)
		nl = add(leases, nl, lines[i].lease, 0, lines[i].charge);
	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	/* Lock order of the procedures: holds, accounts, api_keys. */
	for (k = 0; k < nl; k++) {
		p[0] = DB_I64(leases[k].amount);
		p[1] = bin(leases[k].id);
		if ((rc = db_exec(c, STMT_JOURNAL_LEASE, p, 2, &res, a)) !=
		    TG_OK)
			goto fail;
		/*
		 * A lease swept as expired was charged in full: its lines
		 * keep their usage record but move no more money.
		 */
		leases[k].open = res.affected == 1 || leases[k].amount == 0;
	}
	for (i = 0; i < n; i++) {
		for (k = 0; memcmp(leases[k].id, lines[i].lease, HOLD_ID_LEN);
		     k++)
			;
		if (!(lines[i].open = leases[k].open))
			continue;
		na = add(accts, na, NULL, lines[i].user, lines[i].charge);
		if (lines[i].key != 0)
			nk = add(keys, nk, NULL, lines[i].key, lines[i].charge);
	}
	for (k = 0; k < na; k++) {
		p[0] = DB_I64(accts[k].amount);
		p[1] = DB_I64(accts[k].who);
		if ((rc = db_exec(c, STMT_JOURNAL_ACCOUNT, p, 2, NULL, a)) !=
		    TG_OK)
			goto fail;
	}
	for (k = 0; k < nk; k++) {
		p[0] = DB_I64(keys[k].amount);
		p[1] = DB_I64(keys[k].who);
		if ((rc = db_exec(c, STMT_JOURNAL_KEY, p, 2, NULL, a)) != TG_OK)
			goto fail;
	}
	if ((rc = write_rows(c, a, lines, n, rows)) != TG_OK)
		goto fail;
	for (k = 0; k < JK__MAX; k++)
		if (ex->n[k] > 0 &&
		    (rc = insert_unique(c, kinds[k].batch, ex->rows[k],
			 ex->n[k], kinds[k].cols, a)) != TG_OK)
			goto fail;
	p[0] = DB_STR(mark);
	p[1] = DB_I64(new_off);
	if ((rc = db_exec(c, STMT_JOURNAL_MARK_SET, p, 2, NULL, a)) != TG_OK)
		goto fail;
	*nleases = nl;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

/*
 * The exact holds of lines[0..*n) settled one by one, by the procedure of the
 * online settle: each is its own transaction, idempotent by the hold id, so
 * one settled again after a failed batch is "already closed" and moves
 * nothing.  The carves are moved to the front, *n of them.  -1 on a database
 * error (the batch is retried).
 */
static int
settle_exact(struct db_conn *c, struct arena *a, const char *mark,
    struct line *lines, size_t *n)
{
	char hex[2 * HOLD_ID_LEN + 1];
	size_t i, m = 0;
	int64_t charged;
	enum tg_err rc;

	for (i = 0; i < *n; i++) {
		if (!lines[i].exact) {
			if (m != i)
				lines[m] = lines[i];
			m++;
			continue;
		}
		rc = ledger_settle_usage(c, a, lines[i].lease, lines[i].charge,
		    lines[i].usage, &charged, NULL, NULL);
		if (rc == TG_OK)
			continue;
		if (rc != TG_ECONFLICT && rc != TG_ENOENT)
			return -1;
		crypto_hex(lines[i].lease, HOLD_ID_LEN, hex);
		log_msg(rc == TG_ENOENT ? LOG_ERR : LOG_WARN,
		    "journal %s: hold %s %s", mark, hex,
		    rc == TG_ENOENT ? "does not exist: its line is skipped"
				    : "was already closed (settled before "
				      "its connection was lost, or swept)");
	}
	*n = m;
	return 0;
}

/*
 * The whole lines of data[0..got) (read at off): settlements into lines (*n),
 * records without money into ex, up to a batch of any.  Returns the bytes
 * they took (0: no whole line yet).
 */
static size_t
parse_batch(char *data, size_t got, struct arena *a, const char *mark,
    int64_t off, struct line *lines, size_t *n, struct extras *ex)
{
	char *p, *nl;
	size_t k;
	int ok, full = 0;

	*n = 0;
	memset(ex->n, 0, sizeof(ex->n));
	for (p = data; *n < BATCH_MAX && !full &&
	     (nl = memchr(p, '\n', (size_t)(data + got - p))) != NULL;
	     p = nl + 1) {
		*nl = '\0';
		for (k = 0;
		     k < JK__MAX && !(p[0] == kinds[k].tag && p[1] == ' '); k++)
			;
		if (k < JK__MAX) {
			ok = parse_kind(p + 2, a,
				 &ex->rows[k][ex->n[k] * kinds[k].cols],
				 kinds[k].cols) == 0;
			ex->n[k] += ok;
			full = ex->n[k] == kinds[k].max;
		} else {
			ok = parse_line(p, a, &lines[*n]) == 0;
			*n += ok;
		}
		if (!ok)
			log_msg(LOG_ERR,
			    "journal %s: a malformed line at %lld is skipped",
			    mark, (long long)(off + (p - data)));
	}
	return (size_t)(p - data);
}

/*
 * Write out the complete lines of fd from *off; 0 or more lines written, -1
 * on a database error.
 */
static int
flush_fd(int fd, const char *mark, int64_t *off, struct db_conn *c,
    struct arena *a, struct lease_table *lt)
{
	struct arena_mark batch;
	struct line *lines;
	struct sum *leases;
	struct db_val *rows;
	struct extras ex;
	char *data;
	size_t n = 0, nleases = 0, k, used, had;
	struct stat st;
	ssize_t got;
	size_t want;
	int total = 0;

	/*
	 * Up to the end seen now, not chasing appends: a tick writes what the
	 * last 100 ms brought in a few large transactions, not many small.
	 */
	if (fstat(fd, &st) == -1)
		return -1;
	/* parse_line and write_out fill what they use: no zeroing. */
	data = arena_alloc(a, READ_BYTES + 1);
	lines = arena_alloc(a, BATCH_MAX * sizeof(*lines));
	leases = arena_alloc(a, BATCH_MAX * sizeof(*leases));
	rows = arena_alloc(a, BATCH_MAX * LEDGER_USAGE_COLS * sizeof(*rows));
	for (k = 0; k < JK__MAX; k++)
		ex.rows[k] = arena_alloc(
		    a, kinds[k].max * kinds[k].cols * sizeof(*ex.rows[k]));
	/*
	 * Each batch gives back what it took, so the memory of a tick is the
	 * same for ten lines or for a dead process's million.
	 */
	arena_mark(a, &batch);
	while (*off < st.st_size) {
		arena_release(a, &batch);
		want = (size_t)(st.st_size - *off);
		if (want > READ_BYTES)
			want = READ_BYTES;
		if ((got = pread(fd, data, want, *off)) <= 0)
			break;
		data[got] = '\0';
		used = parse_batch(
		    data, (size_t)got, a, mark, *off, lines, &n, &ex);
		if (used == 0)
			break; /* a line still being written */
		for (had = n, k = 0; k < JK__MAX; k++)
			had += ex.n[k];
		if (had > 0 &&
		    (settle_exact(c, a, mark, lines, &n) == -1 ||
			write_out(c, a, lines, n, &ex, mark,
			    *off + (int64_t)used, leases, &nleases,
			    rows) != TG_OK))
			return -1;
		*off += (int64_t)used;
		for (k = 0; k < nleases; k++)
			lease_flushed(lt, leases[k].id, leases[k].n);
		total += (int)had;
	}
	return total;
}

/* The file of a dead process: write it out, then remove it and its mark. */
static void
adopt(struct journal *j, const char *dir, const char *file, struct db_conn *c,
    struct arena *a, struct lease_table *lt)
{
	char path[PATH_MAX_LEN], *mark;
	int64_t off = 0;
	enum tg_err rc;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd); /* alive, or being adopted by another process */
		return;
	}
	mark = arena_printf(a, "%s/%s", j->host, file);
	if ((rc = q_journal_mark(c, a, mark, &off)) != TG_OK &&
	    rc != TG_ENOENT) {
		close(fd);
		return;
	}
	if (flush_fd(fd, mark, &off, c, a, lt) >= 0) {
		log_msg(
		    LOG_INFO, "journal %s of a dead process written out", file);
		unlink(path);
		q_journal_mark_del(c, a, mark);
	}
	close(fd);
}

static void
adopt_dead(struct journal *j, const char *dir, struct db_conn *c,
    struct arena *a, struct lease_table *lt)
{
	struct dirent *e;
	DIR *d;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 3 || strcmp(e->d_name + n - 2, ".j") != 0 ||
		    strcmp(e->d_name, j->name) == 0)
			continue;
		adopt(j, dir, e->d_name, c, a, lt);
	}
	closedir(d);
}

void
journal_also_adopt(struct journal *j, const char *dir)
{
	if (j != NULL && dir != NULL && strcmp(dir, j->dir) != 0)
		j->legacy = strdup(dir);
}

/* A written-out file that grew big is replaced by a new one. */
static void
rotate(struct journal *j, struct db_conn *c, struct arena *a)
{
	char old[NAME_MAX_LEN], path[PATH_MAX_LEN];
	struct stat st;
	struct db_val p;
	int oldfd;

	if (fstat(j->fd, &st) == -1 || st.st_size < ROTATE_BYTES ||
	    st.st_size != j->off)
		return;
	pthread_rwlock_wrlock(&j->rot);
	if (fstat(j->fd, &st) == -1 || st.st_size != j->off) {
		pthread_rwlock_unlock(&j->rot);
		return;
	}
	snprintf(old, sizeof(old), "%s", j->name);
	oldfd = j->fd;
	if (open_own(j) == -1) {
		snprintf(j->name, sizeof(j->name), "%s", old);
		j->fd = oldfd;
		j->off = st.st_size;
		pthread_rwlock_unlock(&j->rot);
		return;
	}
	pthread_rwlock_unlock(&j->rot);
	snprintf(path, sizeof(path), "%s/%s", j->dir, old);
	unlink(path);
	close(oldfd);
	p = DB_STR(arena_printf(a, "%s/%s", j->host, old));
	db_exec(c, STMT_JOURNAL_MARK_DEL, &p, 1, NULL, a);
}

int
journal_flush(struct journal *j, struct db_conn *c, struct arena *a,
    struct lease_table *lt)
{
	char path[PATH_MAX_LEN], *mark;
	struct stat st;
	int64_t off;
	enum tg_err rc;
	int fd, n = 0;

	if (j == NULL)
		return 0;
	/* Most ticks of a quiet process: nothing new, nothing to open. */
	if (!j->resync && fstat(j->fd, &st) == 0 && st.st_size == j->off)
		goto dead;
	mark = arena_printf(a, "%s/%s", j->host, j->name);
	if (j->resync) {
		/*
		 * A failed write-out may have committed (a connection lost in
		 * COMMIT): the mark says how far the database has it.  The
		 * leases' pending counts are put right by their checks.
		 */
		rc = q_journal_mark(c, a, mark, &off);
		if (rc != TG_OK && rc != TG_ENOENT)
			return -1;
		if (rc == TG_OK && off > j->off)
			j->off = off;
		j->resync = 0;
	}
	snprintf(path, sizeof(path), "%s/%s", j->dir, j->name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = flush_fd(fd, mark, &j->off, c, a, lt);
	close(fd);
	if (n >= 0)
		rotate(j, c, a);
	else
		j->resync = 1;
dead:
	/* Dead processes' files: about once a second (ticks are 100 ms). */
	if (j->ticks++ % 10 == 0) {
		adopt_dead(j, j->dir, c, a, lt);
		adopt_dead(j, j->legacy, c, a, lt);
	}
	return n;
}

void
journal_close(struct journal *j, struct db_conn *c, struct arena *a)
{
	char path[PATH_MAX_LEN];
	struct stat st;

	if (j == NULL)
		return;
	if (c != NULL && fstat(j->fd, &st) == 0 && st.st_size == j->off) {
		snprintf(path, sizeof(path), "%s/%s", j->dir, j->name);
		unlink(path);
		q_journal_mark_del(
		    c, a, arena_printf(a, "%s/%s", j->host, j->name));
	}
	close(j->fd); /* what is left is adopted by the next process */
	pthread_rwlock_destroy(&j->rot);
	gsync_destroy(&j->gs);
	free(j->dir);
	free(j->legacy);
	free(j);
}

/* --- what the sweeper leaves alone --------------------------------------------------------- */

static int
cmp_id(const void *x, const void *y)
{
	return memcmp(x, y, HOLD_ID_LEN);
}

/*
 * The exact holds in fd's lines from off on (the part not written out), added
 * to ids (room for cap); -1 when that part is more than PENDING_MAX.
 */
static int
pending_of(int fd, int64_t off, struct arena *a,
    unsigned char (**ids)[HOLD_ID_LEN], size_t *n, size_t *cap)
{
	struct stat st;
	char *data, *p, *nl;
	ssize_t got;

	if (fstat(fd, &st) == -1 || st.st_size <= off)
		return 0;
	if (st.st_size - off > (int64_t)PENDING_MAX ||
	    (data = arena_alloc(a, (size_t)(st.st_size - off) + 1)) == NULL)
		return -1;
	if ((got = pread(fd, data, (size_t)(st.st_size - off), off)) < 0)
		return -1;
	data[got] = '\0';
	for (p = data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		if (strncmp(p, EXACT_TAG, 2) != 0 || nl - p < 2 + 32)
			continue;
		if (*n == *cap) {
			unsigned char(*more)[HOLD_ID_LEN];

			*cap = *cap * 2 + 64;
			if ((more = arena_alloc(a, *cap * HOLD_ID_LEN)) == NULL)
				return -1;
			if (*n > 0)
				memcpy(more, *ids, *n * HOLD_ID_LEN);
			*ids = more;
		}
		if (crypto_unhex(p + 2, HOLD_ID_LEN, (*ids)[*n]) == 0)
			(*n)++;
	}
	return 0;
}

static int
pending_dir(const char *dir, const char *host, struct db_conn *c,
    struct arena *a, unsigned char (**ids)[HOLD_ID_LEN], size_t *n, size_t *cap)
{
	char path[PATH_MAX_LEN];
	struct dirent *e;
	int64_t off;
	enum tg_err rc;
	int fd, ret = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len < 3 || strcmp(e->d_name + len - 2, ".j") != 0)
			continue;
		off = 0;
		rc = q_journal_mark(
		    c, a, arena_printf(a, "%s/%s", host, e->d_name), &off);
		if (rc != TG_OK && rc != TG_ENOENT) {
			ret = -1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue; /* written out and removed since */
		ret = pending_of(fd, off, a, ids, n, cap);
		close(fd);
	}
	closedir(d);
	return ret;
}

/*
 * Reads every journal file of the directories, its unwritten part: the files
 * of live processes too (a write-out may be waiting for the database).
 */
int
journal_pending_holds(const char *const *dirs, struct db_conn *c,
    struct arena *a, unsigned char (**ids)[HOLD_ID_LEN], size_t *n)
{
	char host[64];
	size_t cap = 0;
	int ret = 0;

	*ids = NULL;
	*n = 0;
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) == -1)
		snprintf(host, sizeof(host), "localhost");
	for (; ret == 0 && *dirs != NULL; dirs++)
		ret = pending_dir(*dirs, host, c, a, ids, n, &cap);
	if (ret == 0 && *n > 1)
		qsort(*ids, *n, HOLD_ID_LEN, cmp_id);
	return ret;
}

/* issue 19: obs: bytes of this process's file not yet written out. */
int64_t
journal_backlog(struct journal *j)
{
	struct stat st;
	int64_t off;

	if (j == NULL || j->fd < 0 || fstat(j->fd, &st) == -1)
		return 0;
	off = __atomic_load_n(&j->off, __ATOMIC_RELAXED);
	return st.st_size > off ? (int64_t)st.st_size - off : 0;
}
