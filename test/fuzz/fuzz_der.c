/* libFuzzer target: the DER decoder and the X.509 certificate parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/der.h"
#include "crypto/x509.h"
#include "crypto/pem.h"
#include "tls/verify.h"

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

static time_t
fixed_now(void)
{
	return (time_t)1800000000;
}

/* Our TLS verifier (src/tls/verify.c) on the input as a one-certificate
 * chain, anchored at itself, as a client checking a server name: it must
 * decide, and release the key only on an accepted chain. */
static void
tls_verify_once(const uint8_t *data, size_t size, const char *name)
{
	static struct tls_trust t;
	static struct tls_verifier v;
	char *pem = NULL;
	size_t plen = 0;
	unsigned err, usages = 0;
	const br_x509_class **vt = &v.vtable;

	if (size == 0 || pem_encode("CERTIFICATE", data, size, &pem, &plen) != 0)
		return;
	if (tls_trust_load_ca_pem(&t, pem, plen, TLS_PEER_SERVER) != 0) {
		free(pem);
		return;
	}
	free(pem);
	t.now = fixed_now;
	tls_verifier_init(&v, &t);
	(void)tls_verifier_set_server_name(&v, name);
	(*vt)->start_chain(vt, name);
	(*vt)->start_cert(vt, (uint32_t)size);
	(*vt)->append(vt, data, size / 2);
	(*vt)->append(vt, data + size / 2, size - size / 2);
	(*vt)->end_cert(vt);
	err = (*vt)->end_chain(vt);
	if ((err == 0) != ((*vt)->get_pkey(vt, &usages) != NULL))
		abort();
	if ((err == 0) != (v.res.reason == TLS_VR_OK))
		abort();
	tls_verifier_release(&v);
	tls_trust_free(&t);
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
		for (size_t i = 0; i < info->sans.n; i++)
			if (info->sans.san[i].type == X509_SAN_DNS)
				(void)tls_dns_name_match(info->sans.san[i].val, info->sans.san[i].len,
				    "a.example.test");
		tls_verify_once(data, size, "a.example.test");
		tls_verify_once(data, size, "127.0.0.1");
	}
	{
		/* Server name matching on arbitrary text: pattern NUL name. */
		const uint8_t *nul = memchr(data, 0, size);
		if (nul != NULL && size - (size_t)(nul - data) < 300) {
			char name[300];
			size_t nl = size - (size_t)(nul - data) - 1;
			memcpy(name, nul + 1, nl);
			name[nl] = '\0';
			(void)tls_dns_name_match((const char *)data, (size_t)(nul - data), name);
		}
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
