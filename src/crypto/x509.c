/* see x509.h */
#include "crypto/x509.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/hex.h"
#include "crypto/der.h"
#include "crypto/pem.h"
#include "crypto/rng.h"
#include "crypto/x509_internal.h"

/* OID contents (DER, without tag and length). */
static const unsigned char OID_EC_PUBKEY[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char OID_ECDSA_SHA256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char OID_CN[] = { 0x55, 0x04, 0x03 };
static const unsigned char OID_O[] = { 0x55, 0x04, 0x0a };
static const unsigned char OID_BC[] = { 0x55, 0x1d, 0x13 };
static const unsigned char OID_KU[] = { 0x55, 0x1d, 0x0f };
static const unsigned char OID_EKU[] = { 0x55, 0x1d, 0x25 };
static const unsigned char OID_SKI[] = { 0x55, 0x1d, 0x0e };
static const unsigned char OID_AKI[] = { 0x55, 0x1d, 0x23 };
static const unsigned char OID_SAN[] = { 0x55, 0x1d, 0x11 };
static const unsigned char OID_EKU_SERVER[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
static const unsigned char OID_EKU_CLIENT[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
static const unsigned char OID_EKU_ANY[] = { 0x55, 0x1d, 0x25, 0x00 };

/* ---- pins ---------------------------------------------------------------- */

/* Walk Certificate -> tbsCertificate -> subjectPublicKeyInfo. */
static int
find_spki(const unsigned char *der, size_t len, struct der_tlv *spki)
{
	struct der_cursor top, cert, tbs;
	struct der_tlv t;
	int i;

	der_cursor_init(&top, der, len);
	if (der_expect(&top, DER_SEQUENCE, &t) || !der_at_end(&top) || der_enter(&top, &t, &cert) ||
	    der_expect(&cert, DER_SEQUENCE, &t) || der_enter(&cert, &t, &tbs))
		return X509_E_DER;
	if (der_peek_tag(&tbs) == DER_CTX_C(0) && der_next(&tbs, &t))
		return X509_E_DER;
	/* serial, signature, issuer, validity, subject */
	for (i = 0; i < 5; i++)
		if (der_next(&tbs, &t))
			return X509_E_DER;
	if (der_expect(&tbs, DER_SEQUENCE, spki))
		return X509_E_DER;
	return 0;
}

int
x509_spki_pin(const unsigned char *cert_der, size_t len, unsigned char pin[32])
{
	struct der_tlv spki;
	br_sha256_context h;

	if (find_spki(cert_der, len, &spki) < 0)
		return X509_E_DER;
	br_sha256_init(&h);
	br_sha256_update(&h, spki.raw, spki.raw_len);
	br_sha256_out(&h, pin);
	return 0;
}

int
x509_pin_format(const unsigned char pin[32], char out[72])
{
	memcpy(out, "sha256:", 7);
	hex_encode(pin, 32, out + 7);
	return 0;
}

int
x509_pin_parse(const char *s, unsigned char pin[32])
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0 || hex_decode(s + 7, pin, 32) < 0)
		return X509_E_PIN;
	return 0;
}

/* ---- chains --------------------------------------------------------------- */

void
x509_chain_free(struct x509_chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->certs[i].data);
	memset(c, 0, sizeof(*c));
}

int
x509_chain_from_pem(const char *text, size_t len, struct x509_chain *out)
{
	struct pem_list l;
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (pem_decode(text, len, &l) != PEM_OK)
		return X509_E_PEM;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.obj[i].label, "CERTIFICATE") != 0)
			continue;
		if (out->n == X509_MAX_CHAIN) {
			r = X509_E_TOO_MANY;
			goto out;
		}
		/* Take ownership of the decoded buffer. */
		out->certs[out->n].data = l.obj[i].der;
		out->certs[out->n].data_len = l.obj[i].len;
		l.obj[i].der = NULL;
		l.obj[i].len = 0;
		out->n++;
	}
	if (out->n == 0)
		r = X509_E_PEM;
out:
	pem_list_free(&l);
	if (r < 0)
		x509_chain_free(out);
	return r;
}

int
x509_chain_load_file(const char *path, struct x509_chain *out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = file_read_all(path, X509_MAX_PEM_FILE, &buf, &len);
	if (r < 0)
		return r;
	r = x509_chain_from_pem(buf, len, out);
	free(buf);
	return r;
}

struct dn_acc {
	unsigned char *buf;
	size_t len, cap;
	int overflow;
};

static void
dn_append(void *ctx, const void *data, size_t len)
{
	struct dn_acc *a = ctx;

	if (a->overflow || len > a->cap - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

void
x509_anchors_free(struct x509_anchors *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		br_x509_trust_anchor *t = &a->ta[i];
		free(t->dn.data);
		if (t->pkey.key_type == BR_KEYTYPE_EC) {
			free(t->pkey.key.ec.q);
		} else if (t->pkey.key_type == BR_KEYTYPE_RSA) {
			free(t->pkey.key.rsa.n);
			free(t->pkey.key.rsa.e);
		}
	}
	memset(a, 0, sizeof(*a));
}

static void *
dup_bytes(const void *p, size_t n)
{
	void *d = malloc(n ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

int
x509_anchors_from_chain(const struct x509_chain *c, struct x509_anchors *out)
{
	br_x509_decoder_context *dc = NULL;
	struct dn_acc acc = { NULL, 0, X509_MAX_NAME_STR * 4, 0 };
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	dc = malloc(sizeof(*dc));
	acc.buf = malloc(acc.cap);
	if (dc == NULL || acc.buf == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n && i < X509_MAX_CHAIN; i++) {
		br_x509_trust_anchor *t = &out->ta[out->n];
		const br_x509_pkey *pk;

		acc.len = 0;
		acc.overflow = 0;
		br_x509_decoder_init(dc, dn_append, &acc);
		br_x509_decoder_push(dc, c->certs[i].data, c->certs[i].data_len);
		pk = br_x509_decoder_get_pkey(dc);
		if (br_x509_decoder_last_error(dc) != 0 || pk == NULL || acc.overflow) {
			r = X509_E_DER;
			goto out;
		}
		memset(t, 0, sizeof(*t));
		t->dn.data = dup_bytes(acc.buf, acc.len);
		t->dn.len = acc.len;
		t->flags = br_x509_decoder_isCA(dc) ? BR_X509_TA_CA : 0;
		t->pkey.key_type = pk->key_type;
		out->n++;
		if (pk->key_type == BR_KEYTYPE_EC) {
			t->pkey.key.ec.curve = pk->key.ec.curve;
			t->pkey.key.ec.q = dup_bytes(pk->key.ec.q, pk->key.ec.qlen);
			t->pkey.key.ec.qlen = pk->key.ec.qlen;
			if (t->pkey.key.ec.q == NULL)
				r = -ENOMEM;
		} else {
			t->pkey.key.rsa.n = dup_bytes(pk->key.rsa.n, pk->key.rsa.nlen);
			t->pkey.key.rsa.nlen = pk->key.rsa.nlen;
			t->pkey.key.rsa.e = dup_bytes(pk->key.rsa.e, pk->key.rsa.elen);
			t->pkey.key.rsa.elen = pk->key.rsa.elen;
			if (t->pkey.key.rsa.n == NULL || t->pkey.key.rsa.e == NULL)
				r = -ENOMEM;
		}
		if (t->dn.data == NULL)
			r = -ENOMEM;
		if (r < 0)
			goto out;
	}
	if (out->n == 0)
		r = X509_E_PEM;
out:
	free(dc);
	free(acc.buf);
	if (r < 0)
		x509_anchors_free(out);
	return r;
}

int
x509_anchors_load_file(const char *path, struct x509_anchors *out)
{
	struct x509_chain c;
	int r;

	memset(out, 0, sizeof(*out));
	r = x509_chain_load_file(path, &c);
	if (r < 0)
		return r;
	r = x509_anchors_from_chain(&c, out);
	x509_chain_free(&c);
	return r;
}

/* ---- SANs ----------------------------------------------------------------- */

static int
sans_add(struct x509_sans *s, int type, const void *v, size_t len)
{
	struct x509_san *e;

	if (s->n >= X509_MAX_SANS)
		return X509_E_TOO_MANY;
	if (len == 0 || len > X509_MAX_SAN_LEN)
		return X509_E_ARG;
	e = &s->san[s->n++];
	e->type = type;
	e->len = len;
	memcpy(e->val, v, len);
	e->val[len] = '\0';
	return 0;
}

static int
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1034 3.5 preferred syntax (digits may start a label, RFC 1123 2.1),
 * with an optional "*." first label for wildcard server names. */
static int
dns_name_ok(const char *n)
{
	size_t len = strlen(n), lab = 0, i;

	if (len == 0 || len > 253)
		return 0;
	if (n[0] == '*') {
		if (n[1] != '.' || n[2] == '\0')
			return 0;
		n += 2;
		len -= 2;
	}
	for (i = 0; i <= len; i++) {
		if (i == len || n[i] == '.') {
			if (lab == 0 || lab > 63 || n[i - 1] == '-' || n[i - lab] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!is_ldh(n[i]))
			return 0;
		lab++;
	}
	return 1;
}

int
x509_sans_add_dns(struct x509_sans *s, const char *name)
{
	if (!dns_name_ok(name))
		return X509_E_ARG;
	return sans_add(s, X509_SAN_DNS, name, strlen(name));
}

int
x509_sans_add_uri(struct x509_sans *s, const char *uri)
{
	const char *colon = strchr(uri, ':');
	size_t i;

	/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
	if (colon == NULL || colon == uri || !((uri[0] | 0x20) >= 'a' && (uri[0] | 0x20) <= 'z'))
		return X509_E_ARG;
	for (i = 0; uri[i] != '\0'; i++)
		if (uri[i] <= 0x20 || uri[i] >= 0x7f)
			return X509_E_ARG;
	return sans_add(s, X509_SAN_URI, uri, strlen(uri));
}

int
x509_sans_add_ip(struct x509_sans *s, const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return sans_add(s, X509_SAN_IP, a, 4);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return sans_add(s, X509_SAN_IP, a, 16);
	return X509_E_ARG;
}

void
x509_san_format(const struct x509_san *san, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	switch (san->type) {
	case X509_SAN_DNS:
		snprintf(out, outlen, "DNS:%s", san->val);
		break;
	case X509_SAN_URI:
		snprintf(out, outlen, "URI:%s", san->val);
		break;
	case X509_SAN_IP:
		if (inet_ntop(san->len == 4 ? AF_INET : AF_INET6, san->val, ip, sizeof(ip)) == NULL)
			snprintf(ip, sizeof(ip), "?");
		snprintf(out, outlen, "IP:%s", ip);
		break;
	default:
		snprintf(out, outlen, "other:%d", san->type);
	}
}

static int
id_part_ok(const char *s, int allow_dot)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return 0;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (!(is_ldh(c) || c == '_' || (c == '.' && allow_dot)))
			return 0;
	}
	return 1;
}

int
x509_agent_uri(const char *td, const char *tenant, const char *agent_id, char *out, size_t outlen)
{
	int n;

	if (!id_part_ok(td, 1) || !id_part_ok(tenant, 1) || !id_part_ok(agent_id, 1))
		return X509_E_ARG;
	n = snprintf(out, outlen, "spiffe://%s/tenant/%s/agent/%s", td, tenant, agent_id);
	if (n < 0 || (size_t)n >= outlen || (size_t)n > X509_MAX_SAN_LEN)
		return X509_E_ARG;
	return 0;
}

/* ---- parsing -------------------------------------------------------------- */

/* Append printf output to a bounded string; returns -1 on overflow. */
static int PRINTF_LIKE(3, 4)
sappend(char *buf, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap - used ? -1 : 0;
}

static int
oid_to_text(const struct der_tlv *t, char *out, size_t cap)
{
	uint64_t v = 0;
	size_t i;
	int first = 1;

	out[0] = '\0';
	if (t->len == 0 || (t->val[t->len - 1] & 0x80))
		return -1;
	for (i = 0; i < t->len; i++) {
		if (v == 0 && t->val[i] == 0x80)
			return -1;     /* non-minimal subidentifier */
		if (v > (UINT64_MAX >> 7))
			return -1;
		v = v << 7 | (t->val[i] & 0x7f);
		if (t->val[i] & 0x80)
			continue;
		if (first) {
			unsigned a = v < 40 ? 0 : v < 80 ? 1 : 2;
			if (sappend(out, cap, "%u.%llu", a, (unsigned long long)(v - 40 * a)) < 0)
				return -1;
			first = 0;
		} else if (sappend(out, cap, ".%llu", (unsigned long long)v) < 0) {
			return -1;
		}
		v = 0;
	}
	return 0;
}

static const char *
attr_name(const struct der_tlv *oid)
{
	static const struct { unsigned char id; const char *name; } names[] = {
		{ 3, "CN" }, { 6, "C" }, { 7, "L" }, { 8, "ST" }, { 10, "O" }, { 11, "OU" },
		{ 5, "serialNumber" },
	};
	size_t i;

	if (oid->tag != DER_OID || oid->len != 3 || oid->val[0] != 0x55 || oid->val[1] != 0x04)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].id == oid->val[2])
			return names[i].name;
	return NULL;
}

/* Name -> "CN=x, O=y"; string types printed with non-printables escaped. */
int
x509_parse_name(const struct der_cursor *parent, const struct der_tlv *name, char *out, size_t cap,
    char *cn, size_t cncap)
{
	struct der_cursor rdns, set, atv;
	struct der_tlv s, a, oid, val;
	int first = 1;

	out[0] = '\0';
	if (cn != NULL)
		cn[0] = '\0';
	if (name->tag != DER_SEQUENCE || der_enter(parent, name, &rdns))
		return X509_E_DER;
	while (!der_at_end(&rdns)) {
		if (der_expect(&rdns, DER_SET, &s) || der_enter(&rdns, &s, &set) || der_at_end(&set))
			return X509_E_DER;
		while (!der_at_end(&set)) {
			const char *an;
			char oidtxt[64];
			size_t i;

			if (der_expect(&set, DER_SEQUENCE, &a) || der_enter(&set, &a, &atv) ||
			    der_expect(&atv, DER_OID, &oid) || der_next(&atv, &val) || !der_at_end(&atv))
				return X509_E_DER;
			an = attr_name(&oid);
			if (an == NULL) {
				if (oid_to_text(&oid, oidtxt, sizeof(oidtxt)) < 0)
					return X509_E_DER;
				an = oidtxt;
			}
			if (sappend(out, cap, "%s%s=", first ? "" : ", ", an) < 0)
				return X509_E_TOO_MANY;
			first = 0;
			for (i = 0; i < val.len; i++) {
				unsigned char c = val.val[i];
				int r = (c >= 0x20 && c < 0x7f && c != '\\' && c != ',')
				    ? sappend(out, cap, "%c", c) : sappend(out, cap, "\\%02x", c);
				if (r < 0)
					return X509_E_TOO_MANY;
			}
			if (cn != NULL && der_oid_eq(&oid, OID_CN, sizeof(OID_CN)) && cn[0] == '\0') {
				size_t n = val.len < cncap - 1 ? val.len : cncap - 1;
				for (i = 0; i < n; i++)
					cn[i] = (val.val[i] >= 0x20 && val.val[i] < 0x7f) ? (char)val.val[i] : '?';
				cn[n] = '\0';
			}
		}
	}
	return 0;
}

/* GeneralNames -> sans (DNS, URI, IP kept; others skipped). */
int
x509_parse_general_names(const struct der_cursor *parent, const struct der_tlv *seq, struct x509_sans *sans)
{
	struct der_cursor c;
	struct der_tlv g;
	int r;

	if (seq->tag != DER_SEQUENCE || der_enter(parent, seq, &c))
		return X509_E_EXT;
	if (der_at_end(&c))
		return X509_E_EXT;       /* RFC 5280: SIZE (1..MAX) */
	while (!der_at_end(&c)) {
		size_t i;

		if (der_next(&c, &g))
			return X509_E_EXT;
		if (g.tag == DER_CTX(2) || g.tag == DER_CTX(6)) {
			for (i = 0; i < g.len; i++)
				if (g.val[i] < 0x20 || g.val[i] >= 0x7f)
					return X509_E_EXT;
			r = sans_add(sans, g.tag == DER_CTX(2) ? X509_SAN_DNS : X509_SAN_URI, g.val, g.len);
		} else if (g.tag == DER_CTX(7)) {
			if (g.len != 4 && g.len != 16)
				return X509_E_EXT;
			r = sans_add(sans, X509_SAN_IP, g.val, g.len);
		} else {
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int
x509_parse_spki(const struct der_cursor *parent, const struct der_tlv *spki, int *is_p256,
    unsigned char pub[65])
{
	struct der_cursor c, alg;
	struct der_tlv a, oid, param, bits;
	const unsigned char *kp;
	size_t kl;

	*is_p256 = 0;
	if (spki->tag != DER_SEQUENCE || der_enter(parent, spki, &c) ||
	    der_expect(&c, DER_SEQUENCE, &a) || der_enter(&c, &a, &alg) ||
	    der_expect(&alg, DER_OID, &oid) || der_expect(&c, DER_BIT_STRING, &bits) ||
	    !der_at_end(&c))
		return X509_E_DER;
	if (!der_oid_eq(&oid, OID_EC_PUBKEY, sizeof(OID_EC_PUBKEY)))
		return 0;        /* another key type: fine for inspection */
	if (der_next(&alg, &param) || !der_at_end(&alg))
		return X509_E_DER;
	if (!der_oid_eq(&param, OID_P256, sizeof(OID_P256)))
		return 0;
	if (der_get_bitstring_bytes(&bits, &kp, &kl) || kl != 65 || kp[0] != 0x04)
		return X509_E_KEY;
	memcpy(pub, kp, 65);
	*is_p256 = 1;
	return 0;
}

int
x509_parse_sigalg(const struct der_cursor *parent, const struct der_tlv *alg, int *is_ecdsa256)
{
	struct der_cursor c;
	struct der_tlv oid, param;

	*is_ecdsa256 = 0;
	if (alg->tag != DER_SEQUENCE || der_enter(parent, alg, &c) || der_expect(&c, DER_OID, &oid))
		return X509_E_DER;
	if (!der_at_end(&c) && (der_next(&c, &param) || !der_at_end(&c)))
		return X509_E_DER;
	/* RFC 5758 3.2: ecdsa-with-SHA256 has absent parameters. */
	if (der_oid_eq(&oid, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256)) && alg->len == oid.raw_len)
		*is_ecdsa256 = 1;
	return 0;
}

/* X.690 8.19: at least one subidentifier, each minimal (no leading 0x80
 * octet) and terminated (the last octet has bit 8 clear). */
static int
oid_well_formed(const struct der_tlv *t)
{
	size_t i;
	int start = 1;

	if (t->tag != DER_OID || t->len == 0 || (t->val[t->len - 1] & 0x80))
		return 0;
	for (i = 0; i < t->len; i++) {
		if (start && t->val[i] == 0x80)
			return 0;
		start = !(t->val[i] & 0x80);
	}
	return 1;
}

static int
parse_extension(const struct der_cursor *parent, const struct der_tlv *ext, struct x509_info *out)
{
	struct der_cursor c, v, s;
	struct der_tlv oid, crit, oct, inner, t;
	int critical = 0, r;

	if (der_enter(parent, ext, &c) || der_expect(&c, DER_OID, &oid) || !oid_well_formed(&oid))
		return X509_E_EXT;
	r = der_optional(&c, DER_BOOLEAN, &crit);
	if (r < 0)
		return X509_E_EXT;
	if (r == 1) {
		/* DER: DEFAULT FALSE must be omitted, so only TRUE may appear. */
		if (der_get_bool(&crit, &critical) || !critical)
			return X509_E_EXT;
	}
	if (der_expect(&c, DER_OCTET_STRING, &oct) || !der_at_end(&c))
		return X509_E_EXT;
	der_cursor_init(&v, oct.val, oct.len);
	v.depth = c.depth;
	if (der_next(&v, &inner) || !der_at_end(&v))
		return X509_E_EXT;

	if (der_oid_eq(&oid, OID_BC, sizeof(OID_BC))) {
		int64_t pl;
		if (out->has_bc || inner.tag != DER_SEQUENCE || der_enter(&v, &inner, &s))
			return X509_E_EXT;
		out->has_bc = 1;
		out->bc_critical = critical;
		r = der_optional(&s, DER_BOOLEAN, &t);
		if (r < 0 || (r == 1 && (der_get_bool(&t, &out->is_ca) || !out->is_ca)))
			return X509_E_EXT;
		r = der_optional(&s, DER_INTEGER, &t);
		if (r < 0 || (r == 1 && (der_get_int64(&t, &pl) || pl < 0 || pl > 255)))
			return X509_E_EXT;
		if (r == 1)
			out->pathlen = (int)pl;
		if (!der_at_end(&s))
			return X509_E_EXT;
	} else if (der_oid_eq(&oid, OID_KU, sizeof(OID_KU))) {
		if (out->has_ku || der_get_bitstring_flags(&inner, &out->ku))
			return X509_E_EXT;
		out->has_ku = 1;
		out->ku_critical = critical;
	} else if (der_oid_eq(&oid, OID_EKU, sizeof(OID_EKU))) {
		if (out->has_eku || inner.tag != DER_SEQUENCE || der_enter(&v, &inner, &s) || der_at_end(&s))
			return X509_E_EXT;
		out->has_eku = 1;
		out->eku_critical = critical;
		while (!der_at_end(&s)) {
			if (der_expect(&s, DER_OID, &t) || !oid_well_formed(&t))
				return X509_E_EXT;
			if (der_oid_eq(&t, OID_EKU_SERVER, sizeof(OID_EKU_SERVER)))
				out->eku |= X509_EKU_SERVER_AUTH;
			else if (der_oid_eq(&t, OID_EKU_CLIENT, sizeof(OID_EKU_CLIENT)))
				out->eku |= X509_EKU_CLIENT_AUTH;
			else if (der_oid_eq(&t, OID_EKU_ANY, sizeof(OID_EKU_ANY)))
				out->eku |= X509_EKU_ANY;
			else
				out->eku |= X509_EKU_OTHER;
		}
	} else if (der_oid_eq(&oid, OID_SKI, sizeof(OID_SKI))) {
		if (out->has_ski || inner.tag != DER_OCTET_STRING || inner.len == 0)
			return X509_E_EXT;
		out->has_ski = 1;
		out->ski_len = inner.len < sizeof(out->ski) ? inner.len : sizeof(out->ski);
		memcpy(out->ski, inner.val, out->ski_len);
	} else if (der_oid_eq(&oid, OID_AKI, sizeof(OID_AKI))) {
		if (out->has_aki || inner.tag != DER_SEQUENCE || der_enter(&v, &inner, &s))
			return X509_E_EXT;
		out->has_aki = 1;
		r = der_optional(&s, DER_CTX(0), &t);
		if (r < 0)
			return X509_E_EXT;
		if (r == 1) {
			out->aki_len = t.len < sizeof(out->aki) ? t.len : sizeof(out->aki);
			memcpy(out->aki, t.val, out->aki_len);
		}
		/* authorityCertIssuer / serial: allowed, ignored. */
	} else if (der_oid_eq(&oid, OID_SAN, sizeof(OID_SAN))) {
		if (out->has_san)
			return X509_E_EXT;
		out->has_san = 1;
		out->san_critical = critical;
		r = x509_parse_general_names(&v, &inner, &out->sans);
		if (r < 0)
			return r;
	} else if (critical) {
		return X509_E_CRITICAL;
	}
	return 0;
}

int
x509_parse(const unsigned char *der, size_t len, struct x509_info *out)
{
	struct der_cursor top, cert, tbs, c, exts;
	struct der_tlv t, tbst, alg1, alg2, sig, val, name, spki;
	br_sha256_context h;
	int64_t ver = 0;
	int r, ecdsa1, ecdsa2;

	memset(out, 0, sizeof(*out));
	out->pathlen = -1;
	der_cursor_init(&top, der, len);
	if (der_expect(&top, DER_SEQUENCE, &t) || !der_at_end(&top) || der_enter(&top, &t, &cert) ||
	    der_expect(&cert, DER_SEQUENCE, &tbst) || der_enter(&cert, &tbst, &tbs) ||
	    der_expect(&cert, DER_SEQUENCE, &alg2) || der_expect(&cert, DER_BIT_STRING, &sig) ||
	    !der_at_end(&cert))
		return X509_E_DER;
	out->tbs = tbst.raw;
	out->tbs_len = tbst.raw_len;
	if (der_get_bitstring_bytes(&sig, &out->sig, &out->sig_len))
		return X509_E_DER;

	/* version [0] EXPLICIT INTEGER DEFAULT v1 */
	r = der_optional(&tbs, DER_CTX_C(0), &t);
	if (r < 0)
		return X509_E_DER;
	if (r == 1) {
		struct der_tlv vi;
		if (der_enter(&tbs, &t, &c) || der_expect(&c, DER_INTEGER, &vi) || !der_at_end(&c) ||
		    der_get_int64(&vi, &ver))
			return X509_E_DER;
		/* DER forbids encoding the default v1 explicitly; v2 has no
		 * extensions we would read, so only v3 is accepted here. */
		if (ver != 2)
			return X509_E_VERSION;
	}
	out->version = (int)ver + 1;

	if (der_expect(&tbs, DER_INTEGER, &t) || der_check_integer(&t) != DER_OK)
		return X509_E_DER;
	/* RFC 5280 4.1.2.2: at most 20 octets of magnitude; the sign octet a
	 * positive INTEGER may need is not part of the serial's value.  A
	 * negative serial is refused: stored as its magnitude octets it would
	 * collide with a positive one (-255 = ff01 and 65281 = 00ff01 both give
	 * "ff01"), and revocation is keyed on those octets. */
	{
		const unsigned char *sp = t.val;
		size_t sl = t.len;

		if (sp[0] & 0x80)
			return X509_E_DER;

		if (sl > 1 && sp[0] == 0) {
			sp++;
			sl--;
		}
		if (sl > sizeof(out->serial))
			return X509_E_DER;
		memcpy(out->serial, sp, sl);
		out->serial_len = sl;
	}

	if (der_expect(&tbs, DER_SEQUENCE, &alg1) || x509_parse_sigalg(&tbs, &alg1, &ecdsa1) ||
	    x509_parse_sigalg(&cert, &alg2, &ecdsa2))
		return X509_E_DER;
	/* RFC 5280 4.1.1.2: both algorithm fields must be identical. */
	if (alg1.raw_len != alg2.raw_len || memcmp(alg1.raw, alg2.raw, alg1.raw_len) != 0)
		return X509_E_DER;
	out->sig_ecdsa_sha256 = ecdsa1;

	if (der_expect(&tbs, DER_SEQUENCE, &name))
		return X509_E_DER;
	out->issuer_der = name.raw;
	out->issuer_der_len = name.raw_len;
	r = x509_parse_name(&tbs, &name, out->issuer, sizeof(out->issuer), NULL, 0);
	if (r < 0)
		return r;

	if (der_expect(&tbs, DER_SEQUENCE, &t) || der_enter(&tbs, &t, &c) ||
	    der_next(&c, &val) || der_get_time(&val, &out->not_before) ||
	    der_next(&c, &val) || der_get_time(&val, &out->not_after) || !der_at_end(&c))
		return X509_E_DER;

	if (der_expect(&tbs, DER_SEQUENCE, &name))
		return X509_E_DER;
	out->subject_der = name.raw;
	out->subject_der_len = name.raw_len;
	r = x509_parse_name(&tbs, &name, out->subject, sizeof(out->subject), out->subject_cn,
	    sizeof(out->subject_cn));
	if (r < 0)
		return r;

	if (der_expect(&tbs, DER_SEQUENCE, &spki))
		return X509_E_DER;
	out->spki = spki.raw;
	out->spki_len = spki.raw_len;
	r = x509_parse_spki(&tbs, &spki, &out->key_p256, out->pub);
	if (r < 0)
		return r;
	br_sha256_init(&h);
	br_sha256_update(&h, spki.raw, spki.raw_len);
	br_sha256_out(&h, out->pin);

	/* issuerUniqueID [1], subjectUniqueID [2]: skipped. */
	if (der_optional(&tbs, DER_CTX(1), &t) < 0 || der_optional(&tbs, DER_CTX(2), &t) < 0)
		return X509_E_DER;
	r = der_optional(&tbs, DER_CTX_C(3), &t);
	if (r < 0)
		return X509_E_DER;
	if (r == 1) {
		struct der_tlv seq, ext;

		if (out->version != 3 || der_enter(&tbs, &t, &c) || der_expect(&c, DER_SEQUENCE, &seq) ||
		    !der_at_end(&c) || der_enter(&c, &seq, &exts) || der_at_end(&exts))
			return X509_E_DER;
		while (!der_at_end(&exts)) {
			if (der_expect(&exts, DER_SEQUENCE, &ext))
				return X509_E_EXT;
			r = parse_extension(&exts, &ext, out);
			if (r < 0)
				return r;
		}
	}
	if (!der_at_end(&tbs))
		return X509_E_DER;
	return 0;
}

/* Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 2.2,
 * RFC 5758 3.2) in strict DER, both positive and at most 33 octets.
 * BearSSL's br_ecdsa_asn1_to_raw accepts non-minimal integers and lengths
 * ("a bit lenient"), so one signature would have many valid encodings. */
static int
ecdsa_sig_is_der(const unsigned char *sig, size_t siglen)
{
	struct der_cursor top, c;
	struct der_tlv seq, r, s;

	der_cursor_init(&top, sig, siglen);
	if (der_expect(&top, DER_SEQUENCE, &seq) || !der_at_end(&top) || der_enter(&top, &seq, &c) ||
	    der_expect(&c, DER_INTEGER, &r) || der_expect(&c, DER_INTEGER, &s) || !der_at_end(&c))
		return 0;
	if (der_check_integer(&r) || der_check_integer(&s) || (r.val[0] & 0x80) ||
	    (s.val[0] & 0x80) || r.len > 33 || s.len > 33)
		return 0;
	return 1;
}

int
x509_ecdsa_verify(const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen,
    const unsigned char pub[65])
{
	unsigned char hash[32], q[65];
	br_sha256_context h;
	br_ec_public_key pk;

	if (!ecdsa_sig_is_der(sig, siglen))
		return X509_E_SIG;
	br_sha256_init(&h);
	br_sha256_update(&h, data, len);
	br_sha256_out(&h, hash);
	memcpy(q, pub, sizeof(q));
	pk.curve = BR_EC_secp256r1;
	pk.q = q;
	pk.qlen = sizeof(q);
	if (br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hash, sizeof(hash), &pk,
	    sig, siglen) != 1)
		return X509_E_SIG;
	return 0;
}

int
x509_check_signature(const struct x509_info *cert, const unsigned char pub[65])
{
	if (!cert->sig_ecdsa_sha256)
		return X509_E_SIG;
	return x509_ecdsa_verify(cert->tbs, cert->tbs_len, cert->sig, cert->sig_len, pub);
}

/* ---- issuing -------------------------------------------------------------- */

void
x509_validity(int64_t now, unsigned days, int64_t *not_before, int64_t *not_after)
{
	*not_before = now - X509_BACKDATE_SECONDS;
	*not_after = now + (int64_t)days * 86400;
}

void
x509_put_name(struct der_buf *b, const char *org, const char *cn)
{
	size_t m = der_begin(b, DER_SEQUENCE), s, a;

	if (org != NULL && org[0] != '\0') {
		s = der_begin(b, DER_SET);
		a = der_begin(b, DER_SEQUENCE);
		der_put_oid(b, OID_O, sizeof(OID_O));
		der_put_tlv(b, DER_UTF8_STRING, org, strlen(org));
		der_end(b, a);
		der_end(b, s);
	}
	s = der_begin(b, DER_SET);
	a = der_begin(b, DER_SEQUENCE);
	der_put_oid(b, OID_CN, sizeof(OID_CN));
	/* RFC 5280 4.1.2.6: UTF8String for new certificates. */
	der_put_tlv(b, DER_UTF8_STRING, cn, strlen(cn));
	der_end(b, a);
	der_end(b, s);
	der_end(b, m);
}

void
x509_put_spki(struct der_buf *b, const unsigned char pub[65])
{
	size_t m = der_begin(b, DER_SEQUENCE), a = der_begin(b, DER_SEQUENCE);

	der_put_oid(b, OID_EC_PUBKEY, sizeof(OID_EC_PUBKEY));
	der_put_oid(b, OID_P256, sizeof(OID_P256));
	der_end(b, a);
	der_put_bitstring(b, pub, 65);
	der_end(b, m);
}

static void
put_sigalg(struct der_buf *b)
{
	size_t m = der_begin(b, DER_SEQUENCE);

	der_put_oid(b, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256));
	der_end(b, m);
}

/* Extension header: SEQUENCE { OID, [TRUE], OCTET STRING { ... } }; the
 * caller writes the value and closes both marks with ext_end. */
static void
ext_begin(struct der_buf *b, const unsigned char *oid, size_t oidlen, int critical,
    size_t *m_ext, size_t *m_oct)
{
	*m_ext = der_begin(b, DER_SEQUENCE);
	der_put_oid(b, oid, oidlen);
	if (critical)
		der_put_bool(b, 1);
	*m_oct = der_begin(b, DER_OCTET_STRING);
}

static void
ext_end(struct der_buf *b, size_t m_ext, size_t m_oct)
{
	der_end(b, m_oct);
	der_end(b, m_ext);
}

/* SKI by RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
static void
key_id(const unsigned char pub[65], unsigned char id[20])
{
	br_sha1_context h;

	br_sha1_init(&h);
	br_sha1_update(&h, pub, 65);
	br_sha1_out(&h, id);
}

int
x509_sans_valid(const struct x509_sans *sans)
{
	size_t i;

	if (sans == NULL)
		return 1;
	if (sans->n > X509_MAX_SANS)
		return 0;
	for (i = 0; i < sans->n; i++) {
		const struct x509_san *s = &sans->san[i];
		if (s->len == 0 || s->len > X509_MAX_SAN_LEN)
			return 0;
		if (s->type == X509_SAN_IP) {
			if (s->len != 4 && s->len != 16)
				return 0;
		} else if (s->type == X509_SAN_DNS || s->type == X509_SAN_URI) {
			size_t j;
			/* IA5String content: printable ASCII, no NUL (a NUL
			 * inside a name is the classic prefix attack). */
			for (j = 0; j < s->len; j++)
				if ((unsigned char)s->val[j] < 0x21 || (unsigned char)s->val[j] > 0x7e)
					return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

void
x509_put_sans(struct der_buf *b, const struct x509_sans *sans)
{
	size_t m = der_begin(b, DER_SEQUENCE), i;

	for (i = 0; i < sans->n; i++) {
		const struct x509_san *s = &sans->san[i];
		unsigned char tag = s->type == X509_SAN_DNS ? DER_CTX(2) :
		    s->type == X509_SAN_URI ? DER_CTX(6) : DER_CTX(7);
		der_put_tlv(b, tag, s->val, s->len);
	}
	der_end(b, m);
}

int
x509_sign_wrap(const struct key_p256 *key, const unsigned char *tbs, size_t tbs_len,
    unsigned char **der, size_t *len)
{
	unsigned char hash[32], sig[80];
	br_sha256_context h;
	struct key_p256 k;
	struct der_buf b;
	size_t siglen, m;

	br_sha256_init(&h);
	br_sha256_update(&h, tbs, tbs_len);
	br_sha256_out(&h, hash);
	key_copy(&k, key);
	/* BearSSL's ECDSA derives the nonce deterministically (RFC 6979), so
	 * signing needs no randomness that could be weak. */
	siglen = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), &br_sha256_vtable, hash,
	    &k.sk, sig);
	key_wipe(&k);
	if (siglen == 0)
		return X509_E_SIG;
	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	der_put_raw(&b, tbs, tbs_len);
	put_sigalg(&b);
	der_put_bitstring(&b, sig, siglen);
	der_end(&b, m);
	if (der_buf_finish(&b, der, len) != DER_OK)
		return -ENOMEM;
	return 0;
}

int
x509_name_part_ok(const char *s, int required)
{
	size_t n, i;

	if (s == NULL)
		return !required;
	n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
issue(const struct key_p256 *signer, const unsigned char *issuer_dn, size_t issuer_dn_len,
    const unsigned char *aki, const struct x509_issue_req *req, const unsigned char *pub,
    unsigned char **der, size_t *len)
{
	unsigned char serial[16], ski[20];
	unsigned char *tbs = NULL;
	size_t tbs_len = 0, m, me, mo, mx, s;
	struct der_buf b;
	int r, i;

	if (!x509_name_part_ok(req->cn, 1) || !x509_name_part_ok(req->org, 0) ||
	    req->not_after <= req->not_before || !x509_sans_valid(req->sans))
		return X509_E_ARG;
	/* 128 random bits; der_put_uint_bytes keeps the INTEGER positive by
	 * prefixing a zero octet when the top bit is set (RFC 5280 4.1.2.2). */
	for (i = 0; i < 4; i++) {
		size_t j;
		unsigned acc = 0;
		r = rng_bytes(serial, sizeof(serial));
		if (r < 0)
			return r;
		for (j = 0; j < sizeof(serial); j++)
			acc |= serial[j];
		if (acc != 0)
			break;
	}
	key_id(pub, ski);

	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	s = der_begin(&b, DER_CTX_C(0));
	der_put_uint(&b, 2);
	der_end(&b, s);
	der_put_uint_bytes(&b, serial, sizeof(serial));
	put_sigalg(&b);
	if (issuer_dn != NULL)
		der_put_raw(&b, issuer_dn, issuer_dn_len);
	else
		x509_put_name(&b, req->org, req->cn);
	s = der_begin(&b, DER_SEQUENCE);
	der_put_time(&b, req->not_before);
	der_put_time(&b, req->not_after);
	der_end(&b, s);
	x509_put_name(&b, req->org, req->cn);
	x509_put_spki(&b, pub);

	mx = der_begin(&b, DER_CTX_C(3));
	s = der_begin(&b, DER_SEQUENCE);
	/* basicConstraints, critical */
	ext_begin(&b, OID_BC, sizeof(OID_BC), 1, &me, &mo);
	{
		size_t q = der_begin(&b, DER_SEQUENCE);
		if (req->profile == X509_PROFILE_CA) {
			der_put_bool(&b, 1);
			/* The CA signs leaves only: no intermediates below it. */
			der_put_uint(&b, 0);
		}
		der_end(&b, q);
	}
	ext_end(&b, me, mo);
	/* keyUsage, critical */
	ext_begin(&b, OID_KU, sizeof(OID_KU), 1, &me, &mo);
	der_put_bitstring_flags(&b, req->profile == X509_PROFILE_CA
	    ? X509_KU_KEY_CERT_SIGN | X509_KU_CRL_SIGN : X509_KU_DIGITAL_SIGNATURE);
	ext_end(&b, me, mo);
	/* extKeyUsage, NOT critical: BearSSL rejects a critical EKU. */
	if (req->profile != X509_PROFILE_CA) {
		ext_begin(&b, OID_EKU, sizeof(OID_EKU), 0, &me, &mo);
		{
			size_t q = der_begin(&b, DER_SEQUENCE);
			if (req->profile == X509_PROFILE_SERVER)
				der_put_oid(&b, OID_EKU_SERVER, sizeof(OID_EKU_SERVER));
			else
				der_put_oid(&b, OID_EKU_CLIENT, sizeof(OID_EKU_CLIENT));
			der_end(&b, q);
		}
		ext_end(&b, me, mo);
	}
	ext_begin(&b, OID_SKI, sizeof(OID_SKI), 0, &me, &mo);
	der_put_tlv(&b, DER_OCTET_STRING, ski, sizeof(ski));
	ext_end(&b, me, mo);
	if (aki != NULL) {
		ext_begin(&b, OID_AKI, sizeof(OID_AKI), 0, &me, &mo);
		{
			size_t q = der_begin(&b, DER_SEQUENCE);
			der_put_tlv(&b, DER_CTX(0), aki, 20);
			der_end(&b, q);
		}
		ext_end(&b, me, mo);
	}
	if (req->profile != X509_PROFILE_CA && req->sans != NULL && req->sans->n > 0) {
		ext_begin(&b, OID_SAN, sizeof(OID_SAN), 0, &me, &mo);
		x509_put_sans(&b, req->sans);
		ext_end(&b, me, mo);
	}
	der_end(&b, s);
	der_end(&b, mx);
	der_end(&b, m);
	r = der_buf_finish(&b, &tbs, &tbs_len);
	if (r != DER_OK)
		return r == DER_E_NOMEM ? -ENOMEM : X509_E_ARG;
	r = x509_sign_wrap(signer, tbs, tbs_len, der, len);
	free(tbs);
	return r;
}

int
x509_issue_ca(const struct key_p256 *key, const struct x509_issue_req *req, unsigned char **der,
    size_t *len)
{
	unsigned char ski[20];

	if (req->profile != X509_PROFILE_CA)
		return X509_E_ARG;
	/* Self-signed: AKI = SKI, as openssl's default CA config writes. */
	key_id(key->pub, ski);
	return issue(key, NULL, 0, ski, req, key->pub, der, len);
}

int
x509_issue_leaf(const struct key_p256 *ca_key, const unsigned char *ca_der, size_t ca_len,
    const struct x509_issue_req *req, unsigned char **der, size_t *len)
{
	struct x509_info *ca;
	unsigned char aki[20];
	int r;

	if (req->profile != X509_PROFILE_CLIENT && req->profile != X509_PROFILE_SERVER)
		return X509_E_ARG;
	if (req->pub == NULL || req->pub[0] != 0x04)
		return X509_E_KEY;
	ca = malloc(sizeof(*ca));
	if (ca == NULL)
		return -ENOMEM;
	r = x509_parse(ca_der, ca_len, ca);
	if (r < 0)
		goto out;
	if (!ca->key_p256 || memcmp(ca->pub, ca_key->pub, 65) != 0 || !ca->is_ca) {
		r = X509_E_KEY;
		goto out;
	}
	if (ca->has_ski && ca->ski_len == 20)
		memcpy(aki, ca->ski, 20);
	else
		key_id(ca->pub, aki);
	r = issue(ca_key, ca->subject_der, ca->subject_der_len, aki, req, req->pub, der, len);
out:
	free(ca);
	return r;
}

/* ---- verification --------------------------------------------------------- */

void
x509_br_time(int64_t unix_seconds, uint32_t *days, uint32_t *seconds)
{
	int64_t d = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;

	/* 719528 days from 0000-01-01 to 1970-01-01 (proleptic Gregorian). */
	*days = (uint32_t)(d + 719528);
	*seconds = (uint32_t)(unix_seconds - d * 86400);
}

int
x509_verify_chain(const struct x509_chain *chain, const struct x509_anchors *anchors, int64_t now,
    unsigned want_eku, int *br_err)
{
	br_x509_minimal_context *ctx = NULL;
	const br_x509_class **vt;
	struct x509_info *info = NULL;
	uint32_t days, secs;
	size_t i;
	int err, res;

	if (br_err != NULL)
		*br_err = 0;
	if (chain->n == 0)
		return X509_V_MALFORMED;
	ctx = malloc(sizeof(*ctx));
	info = malloc(sizeof(*info));
	if (ctx == NULL || info == NULL) {
		res = X509_V_OTHER;
		goto out;
	}
	/* Our own parse first: a malformed certificate is named as such, and
	 * the dates tell BearSSL's single EXPIRED code apart. */
	for (i = 0; i < chain->n; i++) {
		if (x509_parse(chain->certs[i].data, chain->certs[i].data_len, info) < 0) {
			res = X509_V_MALFORMED;
			goto out;
		}
	}
	br_x509_minimal_init_full(ctx, anchors->ta, anchors->n);
	x509_br_time(now, &days, &secs);
	br_x509_minimal_set_time(ctx, days, secs);
	vt = &ctx->vtable;
	(*vt)->start_chain(vt, NULL);
	for (i = 0; i < chain->n; i++) {
		(*vt)->start_cert(vt, (uint32_t)chain->certs[i].data_len);
		(*vt)->append(vt, chain->certs[i].data, chain->certs[i].data_len);
		(*vt)->end_cert(vt);
	}
	err = (int)(*vt)->end_chain(vt);
	if (br_err != NULL)
		*br_err = err;
	switch (err) {
	case BR_ERR_OK:
		res = X509_V_OK;
		break;
	case BR_ERR_X509_EXPIRED:
		res = X509_V_EXPIRED;
		for (i = 0; i < chain->n; i++) {
			if (x509_parse(chain->certs[i].data, chain->certs[i].data_len, info) == 0 &&
			    now < info->not_before) {
				res = X509_V_NOT_YET_VALID;
				break;
			}
		}
		goto out;
	case BR_ERR_X509_NOT_TRUSTED:
		res = X509_V_UNKNOWN_CA;
		/* br_x509_minimal reports a bad signature by a trust anchor as
		 * "not trusted" (it tries the next anchor): tell the two apart
		 * by checking the top certificate against anchors with its
		 * issuer's name ourselves. */
		if (x509_parse(chain->certs[chain->n - 1].data, chain->certs[chain->n - 1].data_len,
		    info) == 0) {
			for (i = 0; i < anchors->n; i++) {
				const br_x509_trust_anchor *ta = &anchors->ta[i];
				if (ta->dn.len == info->issuer_der_len &&
				    memcmp(ta->dn.data, info->issuer_der, ta->dn.len) == 0 &&
				    ta->pkey.key_type == BR_KEYTYPE_EC &&
				    ta->pkey.key.ec.curve == BR_EC_secp256r1 && ta->pkey.key.ec.qlen == 65 &&
				    x509_check_signature(info, ta->pkey.key.ec.q) != 0)
					res = X509_V_BAD_SIGNATURE;
			}
		}
		goto out;
	case BR_ERR_X509_BAD_SIGNATURE:
		res = X509_V_BAD_SIGNATURE;
		goto out;
	case BR_ERR_X509_NOT_CA:
		res = X509_V_NOT_CA;
		goto out;
	default:
		res = X509_V_OTHER;
		goto out;
	}
	if (want_eku != 0) {
		if (x509_parse(chain->certs[0].data, chain->certs[0].data_len, info) < 0) {
			res = X509_V_MALFORMED;
			goto out;
		}
		if (!info->has_eku || (info->eku & want_eku) != want_eku)
			res = X509_V_WRONG_EKU;
	}
out:
	free(ctx);
	free(info);
	return res;
}

const char *
x509_verify_name(int result)
{
	switch (result) {
	case X509_V_OK: return "ok";
	case X509_V_EXPIRED: return "expired";
	case X509_V_NOT_YET_VALID: return "not_yet_valid";
	case X509_V_UNKNOWN_CA: return "unknown_ca";
	case X509_V_BAD_SIGNATURE: return "bad_signature";
	case X509_V_WRONG_EKU: return "wrong_eku";
	case X509_V_NOT_CA: return "not_ca";
	case X509_V_MALFORMED: return "malformed";
	}
	return "other";
}

const char *
x509_br_err_name(int err)
{
	static const char *const names[] = {
		"BR_ERR_X509_OK", "BR_ERR_X509_INVALID_VALUE", "BR_ERR_X509_TRUNCATED",
		"BR_ERR_X509_EMPTY_CHAIN", "BR_ERR_X509_INNER_TRUNC", "BR_ERR_X509_BAD_TAG_CLASS",
		"BR_ERR_X509_BAD_TAG_VALUE", "BR_ERR_X509_INDEFINITE_LENGTH",
		"BR_ERR_X509_EXTRA_ELEMENT", "BR_ERR_X509_UNEXPECTED", "BR_ERR_X509_NOT_CONSTRUCTED",
		"BR_ERR_X509_NOT_PRIMITIVE", "BR_ERR_X509_PARTIAL_BYTE", "BR_ERR_X509_BAD_BOOLEAN",
		"BR_ERR_X509_OVERFLOW", "BR_ERR_X509_BAD_DN", "BR_ERR_X509_BAD_TIME",
		"BR_ERR_X509_UNSUPPORTED", "BR_ERR_X509_LIMIT_EXCEEDED", "BR_ERR_X509_WRONG_KEY_TYPE",
		"BR_ERR_X509_BAD_SIGNATURE", "BR_ERR_X509_TIME_UNKNOWN", "BR_ERR_X509_EXPIRED",
		"BR_ERR_X509_DN_MISMATCH", "BR_ERR_X509_BAD_SERVER_NAME",
		"BR_ERR_X509_CRITICAL_EXTENSION", "BR_ERR_X509_NOT_CA",
		"BR_ERR_X509_FORBIDDEN_KEY_USAGE", "BR_ERR_X509_WEAK_PUBLIC_KEY", NULL,
		"BR_ERR_X509_NOT_TRUSTED",
	};

	if (err == 0)
		return "BR_ERR_OK";
	if (err >= BR_ERR_X509_OK && err <= BR_ERR_X509_NOT_TRUSTED)
		return names[err - BR_ERR_X509_OK];
	return NULL;
}

const char *
x509_strerror(int err)
{
	switch (err) {
	case X509_E_DER: return "not a well-formed DER certificate";
	case X509_E_VERSION: return "unsupported certificate version";
	case X509_E_EXT: return "malformed or duplicate extension";
	case X509_E_CRITICAL: return "unknown critical extension";
	case X509_E_TOO_MANY: return "over a size limit";
	case X509_E_PIN: return "pin must be sha256:<64 hex digits>";
	case X509_E_PEM: return "no CERTIFICATE found in PEM input";
	case X509_E_KEY: return "key is not EC P-256 or does not match";
	case X509_E_SIG: return "signature algorithm or signature invalid";
	case X509_E_ARG: return "invalid argument";
	}
	if (err < 0 && err > -4000)
		return strerror(-err);
	return err < 0 ? "error" : "ok";
}
