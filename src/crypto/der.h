/*
 * der.h: a small, bounded DER (X.690) decoder and encoder.
 *
 * Decoding works on caller-owned memory through a cursor: every length is
 * checked against what is left of the enclosing element, only definite,
 * minimally encoded lengths are accepted (DER, X.690 10.1), lengths are
 * capped at DER_MAX_LEN, tags are single-byte (no high tag numbers: nothing
 * in X.509 or PKCS#10 needs them) and nesting is capped at DER_MAX_DEPTH.
 * Decoders never allocate: a struct der_tlv points into the input.
 *
 * Encoding appends to a heap buffer capped at DER_MAX_ENCODE bytes with a
 * sticky error (BearSSL's habit): callers issue a series of der_put_* calls
 * and check der_buf_error() / the result of der_buf_finish() once.
 * Constructed elements are written with der_begin() / der_end(), which
 * patches the length in place.
 */
#ifndef STAVILY_CRYPTO_DER_H
#define STAVILY_CRYPTO_DER_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

/* Universal tags we use (X.690 8.x / X.680). */
#define DER_BOOLEAN        0x01
#define DER_INTEGER        0x02
#define DER_BIT_STRING     0x03
#define DER_OCTET_STRING   0x04
#define DER_NULL           0x05
#define DER_OID            0x06
#define DER_UTF8_STRING    0x0c
#define DER_PRINTABLE_STRING 0x13
#define DER_IA5_STRING     0x16
#define DER_UTC_TIME       0x17
#define DER_GENERALIZED_TIME 0x18
#define DER_SEQUENCE       0x30
#define DER_SET            0x31
/* Context-specific tags: DER_CTX(n) primitive, DER_CTX_C(n) constructed. */
#define DER_CTX(n)         (0x80 | (n))
#define DER_CTX_C(n)       (0xa0 | (n))

/* Largest element length the decoder accepts (certificates are a few KiB). */
#define DER_MAX_LEN        (1u << 20)
/* Deepest nesting der_enter() allows. */
#define DER_MAX_DEPTH      16
/* Largest buffer the encoder grows to. */
#define DER_MAX_ENCODE     (64u * 1024)

/* Decoder errors (negative; 0 is success). */
enum der_err {
	DER_OK = 0,
	DER_E_TRUNCATED = -1,  /* header or content runs past the end */
	DER_E_LENGTH = -2,     /* indefinite, non-minimal or over DER_MAX_LEN */
	DER_E_TAG = -3,        /* high tag number form, or not the expected tag */
	DER_E_DEPTH = -4,      /* nesting deeper than DER_MAX_DEPTH */
	DER_E_VALUE = -5,      /* content not valid for its type */
	DER_E_TRAILING = -6,   /* bytes left where the structure should end */
	DER_E_NOMEM = -7,      /* encoder: over DER_MAX_ENCODE or malloc failed */
};

/* One decoded element; pointers are into the input. */
struct der_tlv {
	unsigned char tag;           /* identifier octet */
	const unsigned char *raw;    /* first byte of the whole element */
	size_t raw_len;              /* header + content */
	const unsigned char *val;    /* content */
	size_t len;                  /* content length */
};

/* A position inside a run of elements (the content of a constructed one). */
struct der_cursor {
	const unsigned char *p;
	size_t left;
	unsigned depth;
};

/* Start reading `len` bytes at `buf` (depth 0). */
void der_cursor_init(struct der_cursor *c, const void *buf, size_t len);

/* True when nothing is left. */
int der_at_end(const struct der_cursor *c);

/* Tag of the next element without consuming it, or -1 at the end. */
int der_peek_tag(const struct der_cursor *c);

/* Read the next element.  Returns DER_OK or a der_err. */
int der_next(struct der_cursor *c, struct der_tlv *out) WARN_UNUSED;

/* Read the next element and require tag `tag` (DER_E_TAG otherwise). */
int der_expect(struct der_cursor *c, unsigned char tag, struct der_tlv *out) WARN_UNUSED;

/* Read the next element only if its tag is `tag`: returns 1 and fills `out`,
 * 0 if the next tag differs (or at the end), or a negative der_err. */
int der_optional(struct der_cursor *c, unsigned char tag, struct der_tlv *out) WARN_UNUSED;

/* A cursor over the content of constructed element `t`, one level deeper
 * than `parent`.  DER_E_TAG if `t` is primitive, DER_E_DEPTH past the cap. */
int der_enter(const struct der_cursor *parent, const struct der_tlv *t,
    struct der_cursor *child) WARN_UNUSED;

/* Parse a whole buffer as exactly one element (DER_E_TRAILING if bytes
 * follow it). */
int der_parse_one(const void *buf, size_t len, struct der_tlv *out) WARN_UNUSED;

/* INTEGER content -> int64 (minimal encoding required; DER_E_VALUE if it
 * does not fit). */
int der_get_int64(const struct der_tlv *t, int64_t *out) WARN_UNUSED;

/* Check an INTEGER's content is minimally encoded (X.690 8.3.2). */
int der_check_integer(const struct der_tlv *t) WARN_UNUSED;

/* BOOLEAN content: DER allows only 0x00 and 0xff. */
int der_get_bool(const struct der_tlv *t, int *out) WARN_UNUSED;

/* BIT STRING with no unused bits (keys, signatures): content after the
 * leading 0x00 octet.  DER_E_VALUE otherwise. */
int der_get_bitstring_bytes(const struct der_tlv *t, const unsigned char **p,
    size_t *len) WARN_UNUSED;

/* BIT STRING as flags (keyUsage): bit 0 is the most significant bit of the
 * first octet; up to 16 bits.  Unused bits must be zero (DER). */
int der_get_bitstring_flags(const struct der_tlv *t, unsigned *flags) WARN_UNUSED;

/* True if `t` is an OID whose content equals `oid` (content bytes only). */
int der_oid_eq(const struct der_tlv *t, const unsigned char *oid, size_t oid_len);

/* UTCTime (YYMMDDHHMMSSZ, years 1950-2049 per RFC 5280 4.1.2.5.1) or
 * GeneralizedTime (YYYYMMDDHHMMSSZ) -> seconds since the Unix epoch. */
int der_get_time(const struct der_tlv *t, int64_t *out) WARN_UNUSED;

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian); and back. */
int64_t der_days_from_civil(int64_t y, unsigned m, unsigned d);
void der_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* ---- encoder ---------------------------------------------------------- */

struct der_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	int err;              /* sticky: first der_err seen */
};

/* An empty buffer (no allocation until the first put). */
void der_buf_init(struct der_buf *b);
/* Free the buffer (wipes it: TBS data is not secret, but keys pass here). */
void der_buf_free(struct der_buf *b);
/* The sticky error (0 if none). */
int der_buf_error(const struct der_buf *b);
/* Hand the bytes to the caller (who frees them) and reset `b`.  On a sticky
 * error frees everything and returns it. */
int der_buf_finish(struct der_buf *b, unsigned char **out, size_t *len) WARN_UNUSED;

/* Append raw bytes (an already encoded element). */
void der_put_raw(struct der_buf *b, const void *data, size_t len);
/* Append tag, length, content. */
void der_put_tlv(struct der_buf *b, unsigned char tag, const void *data, size_t len);
/* Open a constructed element; returns a mark for der_end(). */
size_t der_begin(struct der_buf *b, unsigned char tag);
/* Close the element opened at `mark`, writing its length. */
void der_end(struct der_buf *b, size_t mark);
/* INTEGER from an unsigned big-endian magnitude (leading zeros stripped, a
 * zero octet added when the top bit is set). */
void der_put_uint_bytes(struct der_buf *b, const unsigned char *mag, size_t len);
/* INTEGER from a small non-negative value. */
void der_put_uint(struct der_buf *b, uint64_t v);
/* OID from its content bytes. */
void der_put_oid(struct der_buf *b, const unsigned char *oid, size_t len);
void der_put_bool(struct der_buf *b, int v);
void der_put_null(struct der_buf *b);
/* BIT STRING with no unused bits. */
void der_put_bitstring(struct der_buf *b, const void *data, size_t len);
/* BIT STRING of named bits (bit 0 = MSB of first octet), minimal form
 * (trailing zero bits removed, X.690 11.2.2). */
void der_put_bitstring_flags(struct der_buf *b, unsigned flags);
/* UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
void der_put_time(struct der_buf *b, int64_t unix_seconds);

/* Name of a der_err for messages. */
const char *der_strerror(int err);

#endif
