/* libFuzzer target: the DER decoder and the X.509 certificate parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/der.h"
#include "crypto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk every element recursively, as deep as der_enter allows. */
static void
walk(struct der_cursor *c)
{
	struct der_tlv t;
	struct der_cursor k;
	int64_t v;
	unsigned f;
	int b;

	while (!der_at_end(c)) {
		if (der_next(c, &t) != DER_OK)
			return;
		switch (t.tag) {
		case DER_INTEGER: (void)der_get_int64(&t, &v); break;
		case DER_BOOLEAN: (void)der_get_bool(&t, &b); break;
		case DER_BIT_STRING: (void)der_get_bitstring_flags(&t, &f); break;
		case DER_UTC_TIME:
		case DER_GENERALIZED_TIME: (void)der_get_time(&t, &v); break;
		default: break;
		}
		if ((t.tag & 0x20) && der_enter(c, &t, &k) == DER_OK)
			walk(&k);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct der_cursor c;
	struct x509_info *info = malloc(sizeof(*info));
	unsigned char pin[32];

	der_cursor_init(&c, data, size);
	walk(&c);
	if (info != NULL && x509_parse(data, size, info) == 0) {
		/* Parsed fields must lie inside the input. */
		if (info->tbs < data || info->tbs + info->tbs_len > data + size ||
		    info->spki < data || info->spki + info->spki_len > data + size)
			abort();
		if (info->key_p256)
			(void)x509_check_signature(info, info->pub);
	}
	(void)x509_spki_pin(data, size, pin);
	{
		/* The verifier on the same bytes as a one-certificate chain
		 * against itself as anchor (BearSSL decoder + minimal). */
		struct x509_chain ch;
		struct x509_anchors ta;

		memset(&ch, 0, sizeof(ch));
		ch.certs[0].data = (unsigned char *)data;
		ch.certs[0].data_len = size;
		ch.n = 1;
		if (x509_anchors_from_chain(&ch, &ta) == 0) {
			(void)x509_verify_chain(&ch, &ta, 1800000000, X509_EKU_CLIENT_AUTH, NULL);
			x509_anchors_free(&ta);
		}
	}
	free(info);
	return 0;
}
