/* Unit tests for src/crypto/der.c: bounds, DER strictness, encoder. */
#include "harness.h"

#include <stdint.h>
#include "crypto/der.h"

static int
parse(const unsigned char *b, size_t n, struct der_tlv *t)
{
	return der_parse_one(b, n, t);
}

static void
test_short_and_long_lengths(void)
{
	struct der_tlv t;
	static const unsigned char s1[] = { 0x04, 0x02, 'h', 'i' };
	unsigned char l1[3 + 200];

	CHECK_EQ_INT(parse(s1, sizeof(s1), &t), DER_OK);
	CHECK_EQ_INT(t.tag, 0x04);
	CHECK_EQ_INT(t.len, 2);
	CHECK(t.val == s1 + 2);
	CHECK_EQ_INT(t.raw_len, 4);
	memset(l1, 'x', sizeof(l1));
	l1[0] = 0x04;
	l1[1] = 0x81;
	l1[2] = 200;
	CHECK_EQ_INT(parse(l1, sizeof(l1), &t), DER_OK);
	CHECK_EQ_INT(t.len, 200);
}

static void
test_overlong_lengths_rejected(void)
{
	struct der_tlv t;
	/* 0x81 0x05: long form for a length < 128 is not minimal. */
	static const unsigned char a[] = { 0x04, 0x81, 0x05, 1, 2, 3, 4, 5 };
	/* 0x82 0x00 0x05: leading zero length octet. */
	static const unsigned char b[] = { 0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5 };
	/* indefinite length (BER only). */
	static const unsigned char c[] = { 0x30, 0x80, 0x00, 0x00 };
	/* 5 length octets: over the cap before anything is read. */
	static const unsigned char d[] = { 0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00 };
	/* 3 length octets, 16 MiB: over DER_MAX_LEN. */
	static const unsigned char e[] = { 0x04, 0x83, 0xff, 0xff, 0xff };

	CHECK_EQ_INT(parse(a, sizeof(a), &t), DER_E_LENGTH);
	CHECK_EQ_INT(parse(b, sizeof(b), &t), DER_E_LENGTH);
	CHECK_EQ_INT(parse(c, sizeof(c), &t), DER_E_LENGTH);
	CHECK_EQ_INT(parse(d, sizeof(d), &t), DER_E_LENGTH);
	CHECK_EQ_INT(parse(e, sizeof(e), &t), DER_E_LENGTH);
}

static void
test_truncated(void)
{
	struct der_tlv t;
	static const unsigned char a[] = { 0x04, 0x05, 1, 2 };
	static const unsigned char b[] = { 0x04 };
	static const unsigned char c[] = { 0x04, 0x82, 0x01 };
	static const unsigned char d[] = { 0x30, 0x03, 0x02, 0x01 };
	size_t i;

	CHECK_EQ_INT(parse(a, sizeof(a), &t), DER_E_TRUNCATED);
	CHECK_EQ_INT(parse(b, sizeof(b), &t), DER_E_TRUNCATED);
	CHECK_EQ_INT(parse(c, sizeof(c), &t), DER_E_TRUNCATED);
	CHECK_EQ_INT(parse(NULL, 0, &t), DER_E_TRUNCATED);
	CHECK_EQ_INT(parse(d, sizeof(d), &t), DER_E_TRUNCATED);
	/* Every prefix of a valid element is an error, never a read past it. */
	for (i = 0; i < sizeof(a); i++)
		CHECK(parse(a, i, &t) < 0);
}

static void
test_trailing_and_high_tags(void)
{
	struct der_tlv t;
	static const unsigned char a[] = { 0x05, 0x00, 0x00 };
	static const unsigned char b[] = { 0x1f, 0x81, 0x00, 0x00 };

	CHECK_EQ_INT(parse(a, sizeof(a), &t), DER_E_TRAILING);
	CHECK_EQ_INT(parse(b, sizeof(b), &t), DER_E_TAG);
}

static void
test_nesting_cap(void)
{
	unsigned char buf[2 * 40];
	struct der_cursor c[41];
	struct der_tlv t;
	int i, depth = 0, r = DER_OK;

	/* 40 nested empty-ended SEQUENCEs: 30 4e 30 4c ... 30 00 */
	for (i = 0; i < 40; i++) {
		buf[2 * i] = 0x30;
		buf[2 * i + 1] = (unsigned char)(2 * (40 - i - 1));
	}
	der_cursor_init(&c[0], buf, sizeof(buf));
	for (i = 0; i < 40; i++) {
		if (der_next(&c[i], &t) != DER_OK)
			break;
		r = der_enter(&c[i], &t, &c[i + 1]);
		if (r != DER_OK)
			break;
		depth++;
	}
	CHECK_EQ_INT(r, DER_E_DEPTH);
	CHECK_EQ_INT(depth, DER_MAX_DEPTH);
}

static void
test_enter_primitive_rejected(void)
{
	static const unsigned char a[] = { 0x04, 0x02, 0x30, 0x00 };
	struct der_cursor c, k;
	struct der_tlv t;

	der_cursor_init(&c, a, sizeof(a));
	CHECK_EQ_INT(der_next(&c, &t), DER_OK);
	CHECK_EQ_INT(der_enter(&c, &t, &k), DER_E_TAG);
}

static void
test_integers(void)
{
	struct der_tlv t;
	int64_t v;
	static const unsigned char ok1[] = { 0x02, 0x01, 0x7f };
	static const unsigned char ok2[] = { 0x02, 0x02, 0x00, 0x80 };
	static const unsigned char neg[] = { 0x02, 0x01, 0xff };
	static const unsigned char bad1[] = { 0x02, 0x02, 0x00, 0x7f };
	static const unsigned char bad2[] = { 0x02, 0x02, 0xff, 0x80 };
	static const unsigned char empty[] = { 0x02, 0x00 };

	CHECK_EQ_INT(parse(ok1, sizeof(ok1), &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_OK);
	CHECK_EQ_INT(v, 127);
	CHECK_EQ_INT(parse(ok2, sizeof(ok2), &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_OK);
	CHECK_EQ_INT(v, 128);
	CHECK_EQ_INT(parse(neg, sizeof(neg), &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_OK);
	CHECK_EQ_INT(v, -1);
	CHECK_EQ_INT(parse(bad1, sizeof(bad1), &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_E_VALUE);
	CHECK_EQ_INT(parse(bad2, sizeof(bad2), &t), DER_OK);
	CHECK_EQ_INT(der_check_integer(&t), DER_E_VALUE);
	CHECK_EQ_INT(parse(empty, sizeof(empty), &t), DER_OK);
	CHECK_EQ_INT(der_check_integer(&t), DER_E_VALUE);
}

static void
test_bool_and_bits(void)
{
	struct der_tlv t;
	int b;
	unsigned f;
	static const unsigned char tru[] = { 0x01, 0x01, 0xff };
	static const unsigned char ber_true[] = { 0x01, 0x01, 0x01 };
	/* keyUsage keyCertSign|cRLSign = bits 5,6: 03 02 01 06 */
	static const unsigned char ku[] = { 0x03, 0x02, 0x01, 0x06 };
	/* unused bits not zero */
	static const unsigned char ku_bad[] = { 0x03, 0x02, 0x01, 0x07 };
	/* trailing zero bits not removed */
	static const unsigned char ku_pad[] = { 0x03, 0x03, 0x00, 0x80, 0x00 };

	CHECK_EQ_INT(parse(tru, sizeof(tru), &t), DER_OK);
	CHECK_EQ_INT(der_get_bool(&t, &b), DER_OK);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(parse(ber_true, sizeof(ber_true), &t), DER_OK);
	CHECK_EQ_INT(der_get_bool(&t, &b), DER_E_VALUE);
	CHECK_EQ_INT(parse(ku, sizeof(ku), &t), DER_OK);
	CHECK_EQ_INT(der_get_bitstring_flags(&t, &f), DER_OK);
	CHECK_EQ_INT(f, (1u << 5) | (1u << 6));
	CHECK_EQ_INT(parse(ku_bad, sizeof(ku_bad), &t), DER_OK);
	CHECK_EQ_INT(der_get_bitstring_flags(&t, &f), DER_E_VALUE);
	CHECK_EQ_INT(parse(ku_pad, sizeof(ku_pad), &t), DER_OK);
	CHECK_EQ_INT(der_get_bitstring_flags(&t, &f), DER_E_VALUE);
}

static void
test_times(void)
{
	struct der_buf b;
	unsigned char *out = NULL;
	size_t len = 0;
	struct der_tlv t;
	int64_t v;
	/* 2049-12-31T23:59:59Z is the last UTCTime; 2050-01-01 the first
	 * GeneralizedTime (RFC 5280 4.1.2.5). */
	const int64_t last_utc = 2524607999, first_gen = 2524608000;

	der_buf_init(&b);
	der_put_time(&b, last_utc);
	CHECK_EQ_INT(der_buf_finish(&b, &out, &len), DER_OK);
	CHECK_EQ_INT(len, 15);
	CHECK_EQ_INT(out[0], DER_UTC_TIME);
	CHECK(memcmp(out + 2, "491231235959Z", 13) == 0);
	CHECK_EQ_INT(parse(out, len, &t), DER_OK);
	CHECK_EQ_INT(der_get_time(&t, &v), DER_OK);
	CHECK_EQ_INT(v, last_utc);
	free(out);

	der_buf_init(&b);
	der_put_time(&b, first_gen);
	CHECK_EQ_INT(der_buf_finish(&b, &out, &len), DER_OK);
	CHECK_EQ_INT(out[0], DER_GENERALIZED_TIME);
	CHECK(memcmp(out + 2, "20500101000000Z", 15) == 0);
	CHECK_EQ_INT(parse(out, len, &t), DER_OK);
	CHECK_EQ_INT(der_get_time(&t, &v), DER_OK);
	CHECK_EQ_INT(v, first_gen);
	free(out);

	{
		static const unsigned char feb30[] = { 0x17, 13, '2', '5', '0', '2', '3', '0', '0',
			'0', '0', '0', '0', '0', 'Z' };
		static const unsigned char frac[] = { 0x18, 17, '2', '0', '2', '5', '0', '1', '0',
			'1', '0', '0', '0', '0', '0', '0', '.', '5', 'Z' };
		static const unsigned char utc50[] = { 0x17, 13, '5', '0', '0', '1', '0', '1', '0',
			'0', '0', '0', '0', '0', 'Z' };
		CHECK_EQ_INT(parse(feb30, sizeof(feb30), &t), DER_OK);
		CHECK_EQ_INT(der_get_time(&t, &v), DER_E_VALUE);
		CHECK_EQ_INT(parse(frac, sizeof(frac), &t), DER_OK);
		CHECK_EQ_INT(der_get_time(&t, &v), DER_E_VALUE);
		CHECK_EQ_INT(parse(utc50, sizeof(utc50), &t), DER_OK);
		CHECK_EQ_INT(der_get_time(&t, &v), DER_OK);
		CHECK_EQ_INT(v, -631152000);    /* 1950-01-01 */
	}
}

/* RFC 5280 4.1.2.5: "Z" only, seconds present, no fractions; leap seconds
 * and out-of-range fields refused; the UTCTime century window. */
static int
time_of(unsigned char tag, const char *txt, int64_t *v)
{
	unsigned char buf[40];
	struct der_tlv t;
	size_t n = strlen(txt);

	buf[0] = tag;
	buf[1] = (unsigned char)n;
	memcpy(buf + 2, txt, n);
	if (parse(buf, n + 2, &t) != DER_OK)
		return -100;
	return der_get_time(&t, v);
}

static void
test_time_edge_cases(void)
{
	int64_t v = 0;

	CHECK_EQ_INT(time_of(DER_UTC_TIME, "490101000000Z", &v), DER_OK);
	CHECK_EQ_INT(v, 2493072000);                     /* 2049 */
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "991231235959Z", &v), DER_OK);
	CHECK_EQ_INT(v, 946684799);                      /* 1999 */
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "000229000000Z", &v), DER_OK);   /* 2000 is leap */
	CHECK_EQ_INT(time_of(DER_GENERALIZED_TIME, "21000229000000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_GENERALIZED_TIME, "20240229120000Z", &v), DER_OK);
	/* leap second, hour 24, minute 60, month 13, day 0 */
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "161231235960Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250101240000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250101236000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "251301000000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250100000000Z", &v), DER_E_VALUE);
	/* time zones other than Z, lower-case z, missing Z or seconds */
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250101000000+0100", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "2501010000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250101000000z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "250101000000", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_GENERALIZED_TIME, "20500101000000-0500", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_GENERALIZED_TIME, "20500101000000", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_GENERALIZED_TIME, "20500101000000.0Z", &v), DER_E_VALUE);
	/* signs and spaces are not digits */
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "+50101000000Z", &v), DER_E_VALUE);
	CHECK_EQ_INT(time_of(DER_UTC_TIME, "25 101000000Z", &v), DER_E_VALUE);
	/* other tags are not times */
	CHECK_EQ_INT(time_of(DER_IA5_STRING, "250101000000Z", &v), DER_E_VALUE);
}

static void
test_encoder_roundtrip(void)
{
	struct der_buf b;
	unsigned char *out = NULL, big[300];
	static const unsigned char neg_mag[] = { 0x00, 0x00, 0x80, 0x01 };
	size_t len = 0, m, m2;
	struct der_cursor c, k;
	struct der_tlv t;
	int64_t v;

	memset(big, 0xab, sizeof(big));
	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	der_put_uint(&b, 0);
	der_put_uint(&b, 65535);
	der_put_uint_bytes(&b, neg_mag, sizeof(neg_mag));
	m2 = der_begin(&b, DER_SEQUENCE);
	der_put_tlv(&b, DER_OCTET_STRING, big, sizeof(big));
	der_end(&b, m2);
	der_put_bitstring_flags(&b, 1u << 0);
	der_put_null(&b);
	der_end(&b, m);
	CHECK_EQ_INT(der_buf_finish(&b, &out, &len), DER_OK);
	CHECK_EQ_INT(out[1], 0x82);          /* long form: > 255 bytes */
	der_cursor_init(&c, out, len);
	CHECK_EQ_INT(der_expect(&c, DER_SEQUENCE, &t), DER_OK);
	CHECK(der_at_end(&c));
	CHECK_EQ_INT(der_enter(&c, &t, &k), DER_OK);
	CHECK_EQ_INT(der_expect(&k, DER_INTEGER, &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_OK);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(der_expect(&k, DER_INTEGER, &t), DER_OK);
	CHECK_EQ_INT(der_get_int64(&t, &v), DER_OK);
	CHECK_EQ_INT(v, 65535);
	CHECK_EQ_INT(der_expect(&k, DER_INTEGER, &t), DER_OK);
	CHECK_EQ_INT(t.len, 3);              /* 00 80 01: zero added, zeros stripped */
	CHECK_EQ_INT(der_check_integer(&t), DER_OK);
	CHECK_EQ_INT(der_expect(&k, DER_SEQUENCE, &t), DER_OK);
	CHECK_EQ_INT(der_expect(&k, DER_BIT_STRING, &t), DER_OK);
	CHECK_EQ_INT(t.len, 2);
	CHECK_EQ_INT(t.val[0], 7);           /* 7 unused bits */
	CHECK_EQ_INT(t.val[1], 0x80);
	CHECK_EQ_INT(der_expect(&k, DER_NULL, &t), DER_OK);
	CHECK(der_at_end(&k));
	free(out);
}

static void
test_encoder_cap(void)
{
	struct der_buf b;
	unsigned char *out = NULL, chunk[4096];
	size_t len = 0, i;

	memset(chunk, 0, sizeof(chunk));
	der_buf_init(&b);
	for (i = 0; i < DER_MAX_ENCODE / sizeof(chunk) + 2; i++)
		der_put_raw(&b, chunk, sizeof(chunk));
	CHECK_EQ_INT(der_buf_error(&b), DER_E_NOMEM);
	CHECK_EQ_INT(der_buf_finish(&b, &out, &len), DER_E_NOMEM);
	CHECK(out == NULL);
}

static void
test_civil_days(void)
{
	int64_t y;
	unsigned m, d;

	CHECK_EQ_INT(der_days_from_civil(1970, 1, 1), 0);
	CHECK_EQ_INT(der_days_from_civil(2000, 3, 1), 11017);
	der_civil_from_days(11016, &y, &m, &d);
	CHECK_EQ_INT(y, 2000);
	CHECK_EQ_INT(m, 2);
	CHECK_EQ_INT(d, 29);
}

int
main(void)
{
	RUN(test_short_and_long_lengths);
	RUN(test_overlong_lengths_rejected);
	RUN(test_truncated);
	RUN(test_trailing_and_high_tags);
	RUN(test_nesting_cap);
	RUN(test_enter_primitive_rejected);
	RUN(test_integers);
	RUN(test_bool_and_bits);
	RUN(test_times);
	RUN(test_time_edge_cases);
	RUN(test_encoder_roundtrip);
	RUN(test_encoder_cap);
	RUN(test_civil_days);
	return HARNESS_EXIT();
}
