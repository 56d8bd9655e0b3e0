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
#include "domain/journal_impl.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "domain/releases.h"
#include "core/log.h"
#include "core/util.h"

#define LINE_MAX_BYTES (64u << 10)  /* a record is a few hundred bytes */
#define READ_BYTES     (256u << 10) /* read per batch; over LINE_MAX_BYTES */
#define BATCH_MAX      512	    /* records per transaction */
#define ROTATE_BYTES   (16u << 20) /* a written-out file this big is replaced */
#define NAME_MAX_LEN   256
#define PATH_MAX_LEN   4096
#define PENDING_MAX    (4u << 20) /* unwritten bytes the sweeper reads */
#define EXACT_TAG      "x "	  /* an exact hold settled by its procedure */
#define HOLD_TAG       "h "	  /* an exact hold settled in the batch */
#define KIND_LINE_MAX  (READ_BYTES - (8u << 10)) /* always read whole */

/*
 * Records that move no money, each kind a line of its own tag and the columns
 * of its batch statement, written out in the transaction of the batch they
 * fall in (issue 18: conversation logs, refused requests).
 */
/* clang-format off */
const struct journal_kind_def journal_kinds[JK__MAX] = {
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
	struct releases *rel; /* issue 20: the holds' lines' releases */
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
	size_t room = 2 + 4 * HOLD_ID_LEN + 1 + 4 * 21 + 1,
	       cap = LINE_MAX_BYTES;
	int rc;

	room += cols_room(r->usage, LEDGER_USAGE_COLS);
	if (r->replay != NULL) {
		if (r->as != JR_HOLD)
			return -1;
		/* An answer: as long as a line read back whole may be. */
		room += cols_room(r->replay, JOURNAL_REPLAY_COLS);
		cap = KIND_LINE_MAX;
	}
	if (room > cap || (line = malloc(room)) == NULL)
		return -1;
	o = line;
	if (r->as != JR_CARVE) {
		memcpy(o, r->as == JR_HOLD ? HOLD_TAG : EXACT_TAG, 2);
		o += 2;
	}
	o = put_hex(o, r->lease_id, HOLD_ID_LEN);
	*o++ = ' ';
	/* A hold's line has its amount where a carve's has the carve. */
	if (r->as == JR_HOLD)
		o = put_i64(o, r->amount);
	else
		o = put_hex(o, r->carve_id, HOLD_ID_LEN);
	*o++ = ' ';
	o = put_i64(o, r->user_id);
	*o++ = ' ';
	o = put_i64(o, r->key_id);
	*o++ = ' ';
	o = put_i64(o, r->charge);
	o = put_cols(o, r->usage, LEDGER_USAGE_COLS);
	if (r->replay != NULL)
		o = put_cols(o, r->replay, JOURNAL_REPLAY_COLS);
	*o++ = '\n';
	rc = put_line(j, line, (size_t)(o - line), j->sync);
	free(line);
	/* After the line: a crash between the two errs low (releases.h). */
	if (rc == 0 && r->as == JR_HOLD)
		releases_add(j->rel, r->user_id, r->amount - r->charge);
	return rc;
}

int
journal_append_kind(
    struct journal *j, enum journal_kind k, const struct db_val *cols, size_t n)
{
	size_t room = 2 + cols_room(cols, n) + 2;
	char *line, *o;
	int rc;

	if (k >= JK__MAX || n != journal_kinds[k].cols ||
	    room > KIND_LINE_MAX || (line = malloc(room)) == NULL)
		return -1;
	/* The tag's space is the first column's (put_cols puts one before each). */
	line[0] = journal_kinds[k].tag;
	o = put_cols(line + 1, cols, n);
	*o++ = '\n';
	/* Nothing of money: not worth an fdatasync per line (a 429 flood). */
	rc = put_line(j, line, (size_t)(o - line), 0);
	free(line);
	return rc;
}

/* --- reading ------------------------------------------------------------------------------- */

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
	l->exact = strncmp(p, EXACT_TAG, 2) == 0;
	l->hold = strncmp(p, HOLD_TAG, 2) == 0;
	if (l->exact || l->hold)
		p += 2;
	if ((tok = strtok_r(p, " ", &save)) == NULL || strlen(tok) != 32 ||
	    crypto_unhex(tok, HOLD_ID_LEN, l->lease) == -1)
		return -1;
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		return -1;
	if (l->hold) {
		if ((l->amount = strtoll(tok, NULL, 10)) < 0)
			return -1;
	} else if (strlen(tok) != 32 ||
	    crypto_unhex(tok, HOLD_ID_LEN, l->carve) == -1) {
		return -1;
	}
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
	/* issue 20: a hold's line may end with its Idempotency-Key's answer. */
	if (l->hold && (tok = strtok_r(NULL, " ", &save)) != NULL) {
		for (i = 0; i < JOURNAL_REPLAY_COLS; i++)
			if ((i > 0 &&
				(tok = strtok_r(NULL, " ", &save)) == NULL) ||
			    parse_val(tok, a, &l->replay[i]) == -1)
				return -1;
		if (l->replay[0].type != DBT_I64 ||
		    l->replay[1].type != DBT_STR ||
		    l->replay[2].type != DBT_STR)
			return -1;
		l->kept = 1;
	}
	/* Before the api column every client spoke its endpoint's API. */
	if (l->usage[JOURNAL_COL_API].type == DBT_NULL)
		l->usage[JOURNAL_COL_API] = l->usage[JOURNAL_COL_ENDPOINT];
	/* A hold's charge is within it: an overrun is settled in place. */
	if (l->hold && l->charge > l->amount)
		return -1;
	return l->user > 0 && l->charge >= 0 ? 0 : -1;
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
		for (k = 0; k < JK__MAX &&
		     !(p[0] == journal_kinds[k].tag && p[1] == ' ');
		     k++)
			;
		if (k < JK__MAX) {
			ok = parse_kind(p + 2, a,
				 &ex->rows[k][ex->n[k] * journal_kinds[k].cols],
				 journal_kinds[k].cols) == 0;
			ex->n[k] += ok;
			full = ex->n[k] == journal_kinds[k].max;
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
    struct arena *a, struct lease_table *lt, struct releases *rel)
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
		ex.rows[k] = arena_alloc(a,
		    journal_kinds[k].max * journal_kinds[k].cols *
			sizeof(*ex.rows[k]));
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
		    (journal_settle_exact(c, a, mark, lines, &n) == -1 ||
			journal_write_out(c, a, lines, n, &ex, mark,
			    *off + (int64_t)used, leases, &nleases, rows,
			    rel) != TG_OK))
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
	if (flush_fd(fd, mark, &off, c, a, lt, j->rel) >= 0) {
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
	n = flush_fd(fd, mark, &j->off, c, a, lt, j->rel);
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
	releases_close(j->rel);
	free(j->dir);
	free(j->legacy);
	free(j);
}

void
journal_releases(struct journal *j, const char *path)
{
	char err[256];

	if (j->rel != NULL)
		return;
	if ((j->rel = releases_open(path, err, sizeof(err))) == NULL)
		log_msg(LOG_WARN,
		    "no table of exact holds' releases (%s): a balance told "
		    "before a line is written out counts its hold",
		    err);
}

int64_t
journal_released(struct journal *j, int64_t user_id)
{
	return j != NULL ? releases_of(j->rel, user_id) : 0;
}

/* --- what the sweeper leaves alone --------------------------------------------------------- */

static int
cmp_id(const void *x, const void *y)
{
	return memcmp(x, y, HOLD_ID_LEN);
}

/*
 * What a scan of the unwritten lines looks for: the exact holds' ids (ids,
 * room for cap), or (user > 0) how many of them are that user's.
 */
struct pending {
	struct arena *a;
	unsigned char (*ids)[HOLD_ID_LEN];
	size_t n, cap;
	int64_t user;
};

/* The user of an exact hold's line (after its tag); 0 when malformed. */
static int64_t
line_user(const char *p)
{
	const char *sp;

	/* The hold's id, then the carve's (x) or the amount (h). */
	if (p[2 + 32] != ' ' || (sp = strchr(p + 2 + 32 + 1, ' ')) == NULL)
		return 0;
	return strtoll(sp + 1, NULL, 10);
}

/* One exact hold's line p (through nl) into what the scan looks for. */
static int
pending_line(struct pending *pd, const char *p, const char *nl)
{
	unsigned char(*more)[HOLD_ID_LEN];

	if ((strncmp(p, EXACT_TAG, 2) != 0 && strncmp(p, HOLD_TAG, 2) != 0) ||
	    nl - p < 2 + 32 + 1)
		return 0;
	if (pd->user > 0) {
		pd->n += line_user(p) == pd->user;
		return 0;
	}
	if (pd->n == pd->cap) {
		pd->cap = pd->cap * 2 + 64;
		if ((more = arena_alloc(pd->a, pd->cap * HOLD_ID_LEN)) == NULL)
			return -1;
		if (pd->n > 0)
			memcpy(more, pd->ids, pd->n * HOLD_ID_LEN);
		pd->ids = more;
	}
	if (crypto_unhex(p + 2, HOLD_ID_LEN, pd->ids[pd->n]) == 0)
		pd->n++;
	return 0;
}

/*
 * The exact holds in fd's lines from off on (the part not written out); -1
 * when that part is more than PENDING_MAX.
 */
static int
pending_of(int fd, int64_t off, struct pending *pd)
{
	struct stat st;
	char *data, *p, *nl;
	ssize_t got;

	if (fstat(fd, &st) == -1 || st.st_size <= off)
		return 0;
	if (st.st_size - off > (int64_t)PENDING_MAX ||
	    (data = arena_alloc(pd->a, (size_t)(st.st_size - off) + 1)) == NULL)
		return -1;
	if ((got = pread(fd, data, (size_t)(st.st_size - off), off)) < 0)
		return -1;
	data[got] = '\0';
	for (p = data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (pending_line(pd, p, nl) == -1)
			return -1;
	}
	return 0;
}

static int
pending_dir(
    const char *dir, const char *host, struct db_conn *c, struct pending *pd)
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
		rc = q_journal_mark(c, pd->a,
		    arena_printf(pd->a, "%s/%s", host, e->d_name), &off);
		if (rc != TG_OK && rc != TG_ENOENT) {
			ret = -1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue; /* written out and removed since */
		ret = pending_of(fd, off, pd);
		close(fd);
	}
	closedir(d);
	return ret;
}

static void
host_name(char host[64])
{
	memset(host, 0, 64);
	if (gethostname(host, 63) == -1)
		snprintf(host, 64, "localhost");
}

/*
 * Reads every journal file of the directories, its unwritten part: the files
 * of live processes too (a write-out may be waiting for the database).
 */
int
journal_pending_holds(const char *const *dirs, struct db_conn *c,
    struct arena *a, unsigned char (**ids)[HOLD_ID_LEN], size_t *n)
{
	struct pending pd = {.a = a};
	char host[64];
	int ret = 0;

	host_name(host);
	for (; ret == 0 && *dirs != NULL; dirs++)
		ret = pending_dir(*dirs, host, c, &pd);
	if (ret == 0 && pd.n > 1)
		qsort(pd.ids, pd.n, HOLD_ID_LEN, cmp_id);
	*ids = pd.ids;
	*n = ret == 0 ? pd.n : 0;
	return ret;
}

/* The user's exact holds not written out in j's directories; -1: unknown. */
static int64_t
user_pending(
    struct journal *j, struct db_conn *c, struct arena *a, int64_t user)
{
	struct pending pd = {.a = a, .user = user};

	if (pending_dir(j->dir, j->host, c, &pd) == -1 ||
	    (j->legacy != NULL &&
		pending_dir(j->legacy, j->host, c, &pd) == -1))
		return -1;
	return (int64_t)pd.n;
}

int
journal_wait_user(struct journal *j, struct db_conn *c, struct arena *a,
    int64_t user_id, unsigned wait_ms)
{
	struct timespec pause = {0, 5 * 1000 * 1000};
	struct arena_mark m;
	int64_t n;
	unsigned waited;

	if (j == NULL)
		return 0;
	arena_mark(a, &m);
	n = user_pending(j, c, a, user_id);
	/* Every 5 ms: a write-out comes within a tick (100 ms) of its line. */
	for (waited = 0; n > 0 && waited < wait_ms; waited += 5) {
		nanosleep(&pause, NULL);
		arena_release(a, &m);
		n = user_pending(j, c, a, user_id);
	}
	arena_release(a, &m);
	return waited > 0 && n == 0;
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
