/* see csr.h */
#include "crypto/csr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/der.h"
#include "crypto/pem.h"
#include "crypto/x509_internal.h"

/* 1.2.840.113549.1.9.14 (PKCS#9 extensionRequest) and 2.5.29.17 (SAN). */
static const unsigned char OID_EXT_REQ[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e };
static const unsigned char OID_SAN[] = { 0x55, 0x1d, 0x11 };

int
csr_build(const struct key_p256 *key, const char *cn, const struct x509_sans *sans,
    unsigned char **der, size_t *len)
{
	unsigned char *cri = NULL;
	size_t cri_len = 0, m, a;
	struct der_buf b;
	int r;

	if (!x509_name_part_ok(cn, 1) || !x509_sans_valid(sans))
		return CSR_E_ARG;
	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	der_put_uint(&b, 0);
	x509_put_name(&b, NULL, cn);
	x509_put_spki(&b, key->pub);
	/* attributes [0] IMPLICIT SET OF Attribute: present even when empty. */
	a = der_begin(&b, DER_CTX_C(0));
	if (sans != NULL && sans->n > 0) {
		size_t at = der_begin(&b, DER_SEQUENCE), set, exts, ext, oct;

		der_put_oid(&b, OID_EXT_REQ, sizeof(OID_EXT_REQ));
		set = der_begin(&b, DER_SET);
		exts = der_begin(&b, DER_SEQUENCE);
		ext = der_begin(&b, DER_SEQUENCE);
		der_put_oid(&b, OID_SAN, sizeof(OID_SAN));
		oct = der_begin(&b, DER_OCTET_STRING);
		x509_put_sans(&b, sans);
		der_end(&b, oct);
		der_end(&b, ext);
		der_end(&b, exts);
		der_end(&b, set);
		der_end(&b, at);
	}
	der_end(&b, a);
	der_end(&b, m);
	r = der_buf_finish(&b, &cri, &cri_len);
	if (r != DER_OK)
		return r == DER_E_NOMEM ? -ENOMEM : CSR_E_ARG;
	r = x509_sign_wrap(key, cri, cri_len, der, len);
	free(cri);
	return r;
}

/* extensionRequest value: SET { Extensions }; only the SAN is read, but
 * every extension must be DER (critical present only as TRUE) and the SAN
 * may appear once: with two, which one a reader takes is a guess. */
static int
parse_ext_request(const struct der_cursor *parent, const struct der_tlv *set, struct csr_info *out)
{
	struct der_cursor s, exts, e, v;
	struct der_tlv seq, ext, oid, crit, oct, inner;
	int r, critical, seen_san = 0;

	if (set->tag != DER_SET || der_enter(parent, set, &s) || der_expect(&s, DER_SEQUENCE, &seq) ||
	    !der_at_end(&s) || der_enter(&s, &seq, &exts))
		return CSR_E_DER;
	while (!der_at_end(&exts)) {
		if (der_expect(&exts, DER_SEQUENCE, &ext) || der_enter(&exts, &ext, &e) ||
		    der_expect(&e, DER_OID, &oid))
			return CSR_E_DER;
		r = der_optional(&e, DER_BOOLEAN, &crit);
		if (r < 0 || (r == 1 && (der_get_bool(&crit, &critical) || !critical)) ||
		    der_expect(&e, DER_OCTET_STRING, &oct) || !der_at_end(&e))
			return CSR_E_DER;
		if (!der_oid_eq(&oid, OID_SAN, sizeof(OID_SAN)))
			continue;
		if (seen_san++)
			return CSR_E_DER;
		der_cursor_init(&v, oct.val, oct.len);
		v.depth = e.depth;
		if (der_next(&v, &inner) || !der_at_end(&v))
			return CSR_E_DER;
		out->sans.n = 0;
		r = x509_parse_general_names(&v, &inner, &out->sans);
		if (r < 0)
			return CSR_E_DER;
	}
	return 0;
}

int
csr_parse(const unsigned char *der, size_t len, struct csr_info *out)
{
	struct der_cursor top, req, cri, attrs, at;
	struct der_tlv t, crit, alg, sig, ver, name, spki, oid, vals;
	const unsigned char *sigp;
	size_t sigl;
	int64_t v;
	int r, p256, ecdsa, seen_extreq = 0;

	memset(out, 0, sizeof(*out));
	if (len > CSR_MAX_DER)
		return CSR_E_TOO_BIG;
	der_cursor_init(&top, der, len);
	if (der_expect(&top, DER_SEQUENCE, &t) || !der_at_end(&top) || der_enter(&top, &t, &req) ||
	    der_expect(&req, DER_SEQUENCE, &crit) || der_expect(&req, DER_SEQUENCE, &alg) ||
	    der_expect(&req, DER_BIT_STRING, &sig) || !der_at_end(&req) ||
	    der_get_bitstring_bytes(&sig, &sigp, &sigl))
		return CSR_E_DER;
	if (der_enter(&req, &crit, &cri) || der_expect(&cri, DER_INTEGER, &ver) ||
	    der_get_int64(&ver, &v))
		return CSR_E_DER;
	if (v != 0)
		return CSR_E_VERSION;
	if (der_expect(&cri, DER_SEQUENCE, &name) ||
	    x509_parse_name(&cri, &name, out->subject, sizeof(out->subject), out->cn, sizeof(out->cn)))
		return CSR_E_DER;
	if (der_expect(&cri, DER_SEQUENCE, &spki))
		return CSR_E_DER;
	r = x509_parse_spki(&cri, &spki, &p256, out->pub);
	if (r < 0)
		return CSR_E_DER;
	if (!p256)
		return CSR_E_KEY;
	/* attributes [0]: required by RFC 2986, but some encoders omit an
	 * empty set; accept absence. */
	r = der_optional(&cri, DER_CTX_C(0), &t);
	if (r < 0)
		return CSR_E_DER;
	if (r == 1) {
		if (der_enter(&cri, &t, &attrs))
			return CSR_E_DER;
		while (!der_at_end(&attrs)) {
			if (der_expect(&attrs, DER_SEQUENCE, &t) || der_enter(&attrs, &t, &at) ||
			    der_expect(&at, DER_OID, &oid) || der_expect(&at, DER_SET, &vals) ||
			    !der_at_end(&at))
				return CSR_E_DER;
			if (der_oid_eq(&oid, OID_EXT_REQ, sizeof(OID_EXT_REQ))) {
				if (seen_extreq++)
					return CSR_E_DER;
				r = parse_ext_request(&at, &vals, out);
				if (r < 0)
					return r;
			}
		}
	}
	if (!der_at_end(&cri))
		return CSR_E_DER;
	if (x509_parse_sigalg(&req, &alg, &ecdsa))
		return CSR_E_DER;
	if (!ecdsa)
		return CSR_E_SIGALG;
	if (x509_ecdsa_verify(crit.raw, crit.raw_len, sigp, sigl, out->pub) != 0)
		return CSR_E_SIGNATURE;
	return 0;
}

int
csr_der_from_pem(const char *text, size_t len, unsigned char **der, size_t *dlen)
{
	struct pem_list l;
	size_t i;
	int r = CSR_E_PEM;

	if (pem_decode(text, len, &l) != PEM_OK)
		return CSR_E_PEM;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.obj[i].label, "CERTIFICATE REQUEST") != 0 &&
		    strcmp(l.obj[i].label, "NEW CERTIFICATE REQUEST") != 0)
			continue;
		if (l.obj[i].len > CSR_MAX_DER) {
			r = CSR_E_TOO_BIG;
			break;
		}
		*der = l.obj[i].der;
		*dlen = l.obj[i].len;
		l.obj[i].der = NULL;
		l.obj[i].len = 0;
		r = 0;
		break;
	}
	pem_list_free(&l);
	return r;
}

const char *
csr_strerror(int err)
{
	switch (err) {
	case CSR_E_DER: return "not a well-formed PKCS#10 request";
	case CSR_E_VERSION: return "unsupported PKCS#10 version";
	case CSR_E_KEY: return "request key is not EC P-256";
	case CSR_E_SIGALG: return "request signature algorithm is not ecdsa-with-SHA256";
	case CSR_E_SIGNATURE: return "request self-signature does not verify";
	case CSR_E_PEM: return "no CERTIFICATE REQUEST found in PEM input";
	case CSR_E_ARG: return "invalid subject or SANs";
	case CSR_E_TOO_BIG: return "request too large";
	}
	return err < 0 ? x509_strerror(err) : "ok";
}
