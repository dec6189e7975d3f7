/* see der.h */
#include "crypto/der.h"

#include <stdlib.h>
#include <string.h>

void
der_cursor_init(struct der_cursor *c, const void *buf, size_t len)
{
	c->p = buf;
	c->left = buf != NULL ? len : 0;
	c->depth = 0;
}

int
der_at_end(const struct der_cursor *c)
{
	return c->left == 0;
}

int
der_peek_tag(const struct der_cursor *c)
{
	return c->left > 0 ? c->p[0] : -1;
}

int
der_next(struct der_cursor *c, struct der_tlv *out)
{
	const unsigned char *p = c->p;
	size_t left = c->left, len, hdr;

	if (left < 2)
		return DER_E_TRUNCATED;
	/* High tag number form (low five bits all set) is never used by the
	 * structures we parse; refusing it keeps the tag a single octet. */
	if ((p[0] & 0x1f) == 0x1f)
		return DER_E_TAG;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t n = p[1] & 0x7f, i;

		/* 0x80 is the indefinite form (BER only); more than 3 length
		 * octets would exceed DER_MAX_LEN anyway. */
		if (n == 0 || n > 3)
			return DER_E_LENGTH;
		if (left < 2 + n)
			return DER_E_TRUNCATED;
		if (p[2] == 0)
			return DER_E_LENGTH;    /* leading zero octet: not minimal */
		len = 0;
		for (i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return DER_E_LENGTH;    /* should have used the short form */
		hdr = 2 + n;
	}
	if (len > DER_MAX_LEN)
		return DER_E_LENGTH;
	if (len > left - hdr)
		return DER_E_TRUNCATED;
	out->tag = p[0];
	out->raw = p;
	out->raw_len = hdr + len;
	out->val = p + hdr;
	out->len = len;
	c->p += hdr + len;
	c->left -= hdr + len;
	return DER_OK;
}

int
der_expect(struct der_cursor *c, unsigned char tag, struct der_tlv *out)
{
	struct der_cursor save = *c;
	int r = der_next(c, out);

	if (r != DER_OK)
		return r;
	if (out->tag != tag) {
		*c = save;
		return DER_E_TAG;
	}
	return DER_OK;
}

int
der_optional(struct der_cursor *c, unsigned char tag, struct der_tlv *out)
{
	int r;

	if (der_peek_tag(c) != tag)
		return 0;
	r = der_next(c, out);
	return r < 0 ? r : 1;
}

int
der_enter(const struct der_cursor *parent, const struct der_tlv *t, struct der_cursor *child)
{
	if (!(t->tag & 0x20))
		return DER_E_TAG;
	if (parent->depth + 1 > DER_MAX_DEPTH)
		return DER_E_DEPTH;
	child->p = t->val;
	child->left = t->len;
	child->depth = parent->depth + 1;
	return DER_OK;
}

int
der_parse_one(const void *buf, size_t len, struct der_tlv *out)
{
	struct der_cursor c;
	int r;

	der_cursor_init(&c, buf, len);
	r = der_next(&c, out);
	if (r != DER_OK)
		return r;
	return der_at_end(&c) ? DER_OK : DER_E_TRAILING;
}

int
der_check_integer(const struct der_tlv *t)
{
	if (t->len == 0)
		return DER_E_VALUE;
	/* X.690 8.3.2: the first nine bits must not be all zeros or all ones. */
	if (t->len > 1 && ((t->val[0] == 0x00 && !(t->val[1] & 0x80)) ||
	    (t->val[0] == 0xff && (t->val[1] & 0x80))))
		return DER_E_VALUE;
	return DER_OK;
}

int
der_get_int64(const struct der_tlv *t, int64_t *out)
{
	uint64_t v;
	size_t i;

	if (t->tag != DER_INTEGER || der_check_integer(t) != DER_OK || t->len > 8)
		return DER_E_VALUE;
	v = (t->val[0] & 0x80) ? UINT64_MAX : 0;
	for (i = 0; i < t->len; i++)
		v = v << 8 | t->val[i];
	*out = (int64_t)v;
	return DER_OK;
}

int
der_get_bool(const struct der_tlv *t, int *out)
{
	if (t->tag != DER_BOOLEAN || t->len != 1 || (t->val[0] != 0 && t->val[0] != 0xff))
		return DER_E_VALUE;
	*out = t->val[0] != 0;
	return DER_OK;
}

int
der_get_bitstring_bytes(const struct der_tlv *t, const unsigned char **p, size_t *len)
{
	if (t->tag != DER_BIT_STRING || t->len < 1 || t->val[0] != 0)
		return DER_E_VALUE;
	*p = t->val + 1;
	*len = t->len - 1;
	return DER_OK;
}

int
der_get_bitstring_flags(const struct der_tlv *t, unsigned *flags)
{
	unsigned unused, v = 0;
	size_t i;

	if (t->tag != DER_BIT_STRING || t->len < 1 || t->len > 3)
		return DER_E_VALUE;
	unused = t->val[0];
	if (unused > 7 || (t->len == 1 && unused != 0))
		return DER_E_VALUE;
	if (t->len > 1) {
		unsigned char last = t->val[t->len - 1];

		/* Unused bits are zero and the last octet has a set bit
		 * (X.690 11.2: no trailing zero bits for named bit lists). */
		if (last & ((1u << unused) - 1))
			return DER_E_VALUE;
		if (last == 0)
			return DER_E_VALUE;
	}
	for (i = 1; i < t->len; i++) {
		unsigned bit;
		for (bit = 0; bit < 8; bit++)
			if (t->val[i] & (0x80 >> bit))
				v |= 1u << ((i - 1) * 8 + bit);
	}
	*flags = v;
	return DER_OK;
}

int
der_oid_eq(const struct der_tlv *t, const unsigned char *oid, size_t oid_len)
{
	return t->tag == DER_OID && t->len == oid_len && memcmp(t->val, oid, oid_len) == 0;
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no libc time zone state involved. */
int64_t
der_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
der_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
digits(const unsigned char *p, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int
der_get_time(const struct der_tlv *t, int64_t *out)
{
	static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const unsigned char *p = t->val;
	unsigned year, mon, day, hh, mm, ss;
	int leap;

	/* RFC 5280 4.1.2.5: seconds present, 'Z', no fractions. */
	if (t->tag == DER_UTC_TIME) {
		if (t->len != 13 || p[12] != 'Z' || digits(p, 2, &year) < 0)
			return DER_E_VALUE;
		year += year < 50 ? 2000 : 1900;
		p += 2;
	} else if (t->tag == DER_GENERALIZED_TIME) {
		if (t->len != 15 || p[14] != 'Z' || digits(p, 4, &year) < 0)
			return DER_E_VALUE;
		p += 4;
	} else {
		return DER_E_VALUE;
	}
	if (digits(p, 2, &mon) < 0 || digits(p + 2, 2, &day) < 0 || digits(p + 4, 2, &hh) < 0 ||
	    digits(p + 6, 2, &mm) < 0 || digits(p + 8, 2, &ss) < 0)
		return DER_E_VALUE;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] ||
	    (mon == 2 && day == 29 && !leap) || hh > 23 || mm > 59 || ss > 59)
		return DER_E_VALUE;
	*out = der_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return DER_OK;
}

/* ---- encoder ---------------------------------------------------------- */

void
der_buf_init(struct der_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
der_buf_free(struct der_buf *b)
{
	if (b->data != NULL) {
		WIPE(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

int
der_buf_error(const struct der_buf *b)
{
	return b->err;
}

int
der_buf_finish(struct der_buf *b, unsigned char **out, size_t *len)
{
	int err = b->err;

	if (err != 0 || b->data == NULL) {
		der_buf_free(b);
		return err != 0 ? err : DER_E_VALUE;
	}
	*out = b->data;
	*len = b->len;
	memset(b, 0, sizeof(*b));
	return DER_OK;
}

/* Make room for `n` more bytes; on failure sets the sticky error. */
static int
reserve(struct der_buf *b, size_t n)
{
	size_t want;
	unsigned char *nd;

	if (b->err)
		return -1;
	if (n > DER_MAX_ENCODE || b->len > DER_MAX_ENCODE - n) {
		b->err = DER_E_NOMEM;
		return -1;
	}
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	want = want < 256 ? 256 : want * 2;
	if (want > DER_MAX_ENCODE)
		want = DER_MAX_ENCODE;
	nd = malloc(want);
	if (nd == NULL) {
		b->err = DER_E_NOMEM;
		return -1;
	}
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len);
		WIPE(b->data, b->cap);
		free(b->data);
	}
	b->data = nd;
	b->cap = want;
	return 0;
}

void
der_put_raw(struct der_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) < 0)
		return;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}

static size_t
len_octets(size_t len)
{
	return len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 4;
}

static void
put_len(unsigned char *p, size_t len)
{
	size_t n = len_octets(len), i;

	if (n == 1) {
		p[0] = (unsigned char)len;
		return;
	}
	p[0] = (unsigned char)(0x80 | (n - 1));
	for (i = 1; i < n; i++)
		p[i] = (unsigned char)(len >> (8 * (n - 1 - i)));
}

void
der_put_tlv(struct der_buf *b, unsigned char tag, const void *data, size_t len)
{
	unsigned char hdr[5];

	hdr[0] = tag;
	put_len(hdr + 1, len);
	der_put_raw(b, hdr, 1 + len_octets(len));
	der_put_raw(b, data, len);
}

size_t
der_begin(struct der_buf *b, unsigned char tag)
{
	der_put_raw(b, &tag, 1);
	return b->len;
}

void
der_end(struct der_buf *b, size_t mark)
{
	size_t clen, n;

	if (b->err)
		return;
	if (mark > b->len) {
		b->err = DER_E_VALUE;
		return;
	}
	clen = b->len - mark;
	n = len_octets(clen);
	if (reserve(b, n) < 0)
		return;
	memmove(b->data + mark + n, b->data + mark, clen);
	put_len(b->data + mark, clen);
	b->len += n;
}

void
der_put_uint_bytes(struct der_buf *b, const unsigned char *mag, size_t len)
{
	size_t mark;

	while (len > 1 && mag[0] == 0) {
		mag++;
		len--;
	}
	mark = der_begin(b, DER_INTEGER);
	if (len == 0 || (mag[0] & 0x80))
		der_put_raw(b, "", 1);
	der_put_raw(b, mag, len);
	der_end(b, mark);
}

void
der_put_uint(struct der_buf *b, uint64_t v)
{
	unsigned char m[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		m[i] = (unsigned char)v;
	der_put_uint_bytes(b, m, 8);
}

void
der_put_oid(struct der_buf *b, const unsigned char *oid, size_t len)
{
	der_put_tlv(b, DER_OID, oid, len);
}

void
der_put_bool(struct der_buf *b, int v)
{
	unsigned char c = v ? 0xff : 0x00;

	der_put_tlv(b, DER_BOOLEAN, &c, 1);
}

void
der_put_null(struct der_buf *b)
{
	der_put_tlv(b, DER_NULL, NULL, 0);
}

void
der_put_bitstring(struct der_buf *b, const void *data, size_t len)
{
	size_t mark = der_begin(b, DER_BIT_STRING);

	der_put_raw(b, "", 1);
	der_put_raw(b, data, len);
	der_end(b, mark);
}

void
der_put_bitstring_flags(struct der_buf *b, unsigned flags)
{
	unsigned char v[3] = { 0, 0, 0 };
	unsigned bit, highest = 0, nbytes, unused;

	flags &= 0xffff;
	for (bit = 0; bit < 16; bit++) {
		if (flags & (1u << bit)) {
			v[1 + bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
			highest = bit + 1;
		}
	}
	nbytes = (highest + 7) / 8;
	unused = nbytes * 8 - highest;
	v[0] = (unsigned char)unused;
	der_put_tlv(b, DER_BIT_STRING, v, 1 + nbytes);
}

void
der_put_time(struct der_buf *b, int64_t t)
{
	char s[16];
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, y;
	int64_t sec = t - days * 86400;
	unsigned m, d;

	der_civil_from_days(days, &y, &m, &d);
	if (y < 1950 || y > 9999) {
		if (!b->err)
			b->err = DER_E_VALUE;
		return;
	}
	if (y < 2050) {
		s[0] = (char)('0' + (y / 10) % 10);
		s[1] = (char)('0' + y % 10);
		s[2] = (char)('0' + m / 10);
		s[3] = (char)('0' + m % 10);
		s[4] = (char)('0' + d / 10);
		s[5] = (char)('0' + d % 10);
		s[6] = (char)('0' + sec / 36000);
		s[7] = (char)('0' + (sec / 3600) % 10);
		s[8] = (char)('0' + (sec % 3600) / 600);
		s[9] = (char)('0' + ((sec % 3600) / 60) % 10);
		s[10] = (char)('0' + (sec % 60) / 10);
		s[11] = (char)('0' + sec % 10);
		s[12] = 'Z';
		der_put_tlv(b, DER_UTC_TIME, s, 13);
	} else {
		s[0] = (char)('0' + y / 1000);
		s[1] = (char)('0' + (y / 100) % 10);
		s[2] = (char)('0' + (y / 10) % 10);
		s[3] = (char)('0' + y % 10);
		s[4] = (char)('0' + m / 10);
		s[5] = (char)('0' + m % 10);
		s[6] = (char)('0' + d / 10);
		s[7] = (char)('0' + d % 10);
		s[8] = (char)('0' + sec / 36000);
		s[9] = (char)('0' + (sec / 3600) % 10);
		s[10] = (char)('0' + (sec % 3600) / 600);
		s[11] = (char)('0' + ((sec % 3600) / 60) % 10);
		s[12] = (char)('0' + (sec % 60) / 10);
		s[13] = (char)('0' + sec % 10);
		s[14] = 'Z';
		der_put_tlv(b, DER_GENERALIZED_TIME, s, 15);
	}
}

const char *
der_strerror(int err)
{
	switch (err) {
	case DER_OK: return "ok";
	case DER_E_TRUNCATED: return "truncated DER";
	case DER_E_LENGTH: return "bad DER length";
	case DER_E_TAG: return "unexpected DER tag";
	case DER_E_DEPTH: return "DER nesting too deep";
	case DER_E_VALUE: return "bad DER value";
	case DER_E_TRAILING: return "trailing data after DER";
	case DER_E_NOMEM: return "DER output too large";
	}
	return "unknown DER error";
}
