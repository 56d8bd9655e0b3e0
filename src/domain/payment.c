/* payment.c: signed payment notifications: the t=...,v1=... signature and the event shape credited */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/money.h"
#include "domain/op.h"
#include "domain/topup.h"

#define SIG_MAX_V1     8  /* signatures in one header (a rolled secret: 2) */
#define SIG_MAX_SECRET 8  /* secrets in the file */
#define EVENT_ID_MAX   64 /* the ledger's dedupe key has room for this */
#define CENTS_MAX      (MONEY_MAX_USD * 100)

/* What a signature header holds. */
struct sig {
	const char *t; /* the digits as sent: they are what was signed */
	size_t tlen;
	int64_t ts;
	unsigned char v1[SIG_MAX_V1][CRYPTO_SHA256_LEN];
	size_t nv1;
};

static int
unhex(const char *s, size_t n, unsigned char *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n / 2; i++) {
		hi = isxdigit((unsigned char)s[2 * i]) ? s[2 * i] : -1;
		lo = isxdigit((unsigned char)s[2 * i + 1]) ? s[2 * i + 1] : -1;
		if (hi < 0 || lo < 0)
			return -1;
		hi = isdigit(hi) ? hi - '0' : (tolower(hi) - 'a' + 10);
		lo = isdigit(lo) ? lo - '0' : (tolower(lo) - 'a' + 10);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* One "k=v" item; schemes other than t and v1 (v0) are ignored. */
static int
sig_item(struct sig *s, const char *p, size_t n)
{
	size_t i;

	if (n > 2 && p[0] == 't' && p[1] == '=') {
		if (s->t != NULL || n - 2 > 15)
			return -1;
		s->ts = 0;
		for (i = 2; i < n; i++) {
			if (!isdigit((unsigned char)p[i]))
				return -1;
			s->ts = s->ts * 10 + (p[i] - '0');
		}
		s->t = p + 2;
		s->tlen = n - 2;
		return 0;
	}
	if (n > 3 && strncmp(p, "v1=", 3) == 0) {
		if (n - 3 != 2 * CRYPTO_SHA256_LEN || s->nv1 == SIG_MAX_V1)
			return -1;
		return unhex(p + 3, n - 3, s->v1[s->nv1++]);
	}
	return 0;
}

static int
sig_parse(const char *h, struct sig *s)
{
	const char *p = h, *e;
	size_t n;

	memset(s, 0, sizeof(*s));
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ",");
		e = p + n;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && sig_item(s, p, n) == -1)
			return -1;
		p = *e == ',' ? e + 1 : e;
	}
	return s->t != NULL && s->nv1 > 0 ? 0 : -1;
}

/* Whether some v1 is the HMAC of "t.body" under secret (its n bytes). */
static int
sig_match(const struct sig *s, const char *secret, size_t n,
    const unsigned char *msg, size_t len)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	size_t i;
	int ok = 0;

	if (crypto_hmac_sha256(secret, n, msg, len, mac) == -1)
		return 0;
	/* Every one compared, so the time says nothing about which matched. */
	for (i = 0; i < s->nv1; i++)
		ok |= crypto_equal(mac, s->v1[i], sizeof(mac));
	crypto_wipe(mac, sizeof(mac));
	return ok;
}

/* Whether a line of secrets (one a line, blanks ignored) signed msg. */
static int
sig_any(const struct sig *s, const char *secrets, const unsigned char *msg,
    size_t len)
{
	const char *p = secrets;
	size_t n, k = 0;
	int ok = 0;

	while (*p != '\0' && k < SIG_MAX_SECRET) {
		n = strcspn(p, "\r\n");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0) {
			ok |= sig_match(s, p, n, msg, len);
			k++;
		}
		p += strcspn(p, "\r\n");
		p += strspn(p, "\r\n");
	}
	return ok;
}

enum tg_err
payment_verify(struct op *op, const char *header, const char *body, size_t len,
    const char *secrets, unsigned tolerance, int64_t now)
{
	struct sig s;
	unsigned char *msg;
	int ok;

	if (header == NULL || sig_parse(header, &s) == -1)
		return op_fail(op, TG_EINVAL, "invalid_signature_header",
		    "Tollgate-Signature",
		    "the signature header must read t=UNIX_TIME,v1=HEX "
		    "(HMAC-SHA256, 64 hex digits)");
	/* What was signed: the timestamp as sent, a dot, the raw body. */
	if ((msg = arena_alloc(op->arena, s.tlen + 1 + len + 1)) == NULL)
		return TG_ESYSTEM;
	memcpy(msg, s.t, s.tlen);
	msg[s.tlen] = '.';
	memcpy(msg + s.tlen + 1, body, len);
	ok = secrets != NULL && sig_any(&s, secrets, msg, s.tlen + 1 + len);
	if (!ok)
		return op_fail(op, TG_EAUTH, "invalid_signature",
		    "Tollgate-Signature",
		    "no signature in the header matches the body under the "
		    "webhook secret");
	if (s.ts + (int64_t)tolerance < now || s.ts - (int64_t)tolerance > now)
		return op_fail(op, TG_EAUTH, "timestamp_outside_tolerance",
		    "Tollgate-Signature",
		    "the signature's timestamp is more than %u seconds from "
		    "now: a replayed or delayed event",
		    tolerance);
	return TG_OK;
}

/* The event types that credit, by name. */
static const char *const credit_types[] = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "topup.succeeded",
};

static int
credits(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(credit_types) / sizeof(credit_types[0]); i++)
		if (strcmp(type, credit_types[i]) == 0)
			return 1;
	return 0;
}

static int
event_id_ok(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n >= 1 && n <= EVENT_ID_MAX &&
	    strspn(id,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789_-.:") == n;
}

static enum tg_err
invalid(struct op *op, const char *param, const char *what)
{
	return op_fail(op, TG_EINVAL, "invalid_event", param, "%s", what);
}

/* amount_total (integer cents) or amount (a USD string), one of them. */
static enum tg_err
event_amount(struct op *op, const json_t *o, int64_t *out)
{
	const json_t *cents = json_object_get(o, "amount_total");
	const json_t *usd = json_object_get(o, "amount");
	json_int_t c;

	if ((cents != NULL) == (usd != NULL))
		return invalid(op, "data.object.amount_total",
		    "the payment needs amount_total (integer cents) or "
		    "amount (a USD string), exactly one");
	if (cents != NULL) {
		c = json_is_integer(cents) ? json_integer_value(cents) : 0;
		if (c <= 0 || c > CENTS_MAX)
			return invalid(op, "data.object.amount_total",
			    "amount_total is a positive whole number of "
			    "cents");
		*out = (int64_t)c * (NANO_PER_USD / 100);
		return TG_OK;
	}
	if (!json_is_string(usd) ||
	    money_parse(json_string_value(usd), out) == -1 || *out <= 0)
		return invalid(op, "data.object.amount",
		    "amount is a positive USD amount as a string, such as "
		    "\"10.00\"");
	return TG_OK;
}

/* metadata.user_id, metadata.email or client_reference_id (a user id). */
static enum tg_err
event_user(struct op *op, const json_t *o, struct payment *p)
{
	const json_t *m = json_object_get(o, "metadata");

	p->user_pub = jx_str(m, "user_id");
	p->email = jx_str(m, "email");
	if (p->user_pub == NULL && p->email == NULL)
		p->user_pub = jx_str(o, "client_reference_id");
	if ((p->user_pub == NULL || *p->user_pub == '\0') &&
	    (p->email == NULL || *p->email == '\0'))
		return invalid(op, "data.object.metadata.user_id",
		    "the payment names no user: set metadata.user_id or "
		    "metadata.email");
	return TG_OK;
}

enum tg_err
payment_parse(struct op *op, const json_t *ev, struct payment *p, int *ignored)
{
	const json_t *o;
	const char *cur, *st;
	enum tg_err rc;

	memset(p, 0, sizeof(*p));
	*ignored = 0;
	p->event_id = jx_str(ev, "id");
	if (!event_id_ok(p->event_id))
		return invalid(op, "id",
		    "the event id is 1 to 64 letters, digits and _-.:");
	if ((p->type = jx_str(ev, "type")) == NULL)
		return invalid(op, "type", "the event has no type");
	o = json_object_get(json_object_get(ev, "data"), "object");
	if (!json_is_object(o))
		return invalid(
		    op, "data.object", "the event has no data.object");
	/* Other events, and a checkout whose money has not arrived yet. */
	st = jx_str(o, "payment_status");
	if (!credits(p->type) || (st != NULL && strcmp(st, "paid") != 0)) {
		*ignored = 1;
		return TG_OK;
	}
	if ((cur = jx_str(o, "currency")) == NULL ||
	    strcasecmp(cur, "usd") != 0)
		return op_fail(op, TG_EINVAL, "unsupported_currency",
		    "data.object.currency",
		    "only currency \"usd\" is credited");
	if ((rc = event_amount(op, o, &p->amount)) != TG_OK)
		return rc;
	return event_user(op, o, p);
}
