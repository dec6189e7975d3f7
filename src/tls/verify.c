/* see verify.h */
#include "tls/verify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "tls/errname.h"

#define V(ctx) ((struct tls_verifier *)(void *)(ctx))

const char *tls_verify_reason_name(int reason)
{
	switch (reason) {
	case TLS_VR_OK: return "ok";
	case TLS_VR_EXPIRED: return "expired";
	case TLS_VR_NOT_YET_VALID: return "not_yet_valid";
	case TLS_VR_UNKNOWN_CA: return "unknown_ca";
	case TLS_VR_PIN_MISMATCH: return "pin_mismatch";
	case TLS_VR_HOSTNAME_MISMATCH: return "hostname_mismatch";
	case TLS_VR_WRONG_EKU: return "wrong_eku";
	case TLS_VR_REVOKED: return "revoked";
	case TLS_VR_NO_CERTIFICATE: return "no_certificate";
	case TLS_VR_NO_IDENTITY: return "no_identity";
	case TLS_VR_BAD_CERTIFICATE: return "bad_certificate";
	default: return "unknown";
	}
}

/* ---- trust ------------------------------------------------------------ */

static int trust_from_chain(struct tls_trust *t, struct x509_chain *ch,
    enum tls_peer_role role)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->peer_role = role;
	rc = x509_anchors_from_chain(ch, &t->anchors);
	if (rc)
		return rc;
	for (size_t i = 0; i < ch->n && i < X509_MAX_CHAIN; i++) {
		struct x509_info *info = calloc(1, sizeof(*info));
		if (!info) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = x509_parse(ch->certs[i].data, ch->certs[i].data_len, info);
		if (rc == 0) {
			memcpy(t->anchor_pin[i], info->pin, 32);
			t->anchor_dn[i] = malloc(info->subject_der_len);
			if (!t->anchor_dn[i])
				rc = -ENOMEM;
			else {
				memcpy(t->anchor_dn[i], info->subject_der, info->subject_der_len);
				t->anchor_dn_len[i] = info->subject_der_len;
			}
		}
		free(info);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	tls_trust_free(t);
	return rc;
}

int tls_trust_load_ca_pem(struct tls_trust *t, const char *pem, size_t len,
    enum tls_peer_role role)
{
	struct x509_chain ch;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = x509_chain_from_pem(pem, len, &ch);
	if (rc)
		return rc;
	rc = trust_from_chain(t, &ch, role);
	x509_chain_free(&ch);
	return rc;
}

int tls_trust_load_ca_file(struct tls_trust *t, const char *path, enum tls_peer_role role)
{
	struct x509_chain ch;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = x509_chain_load_file(path, &ch);
	if (rc)
		return rc;
	rc = trust_from_chain(t, &ch, role);
	x509_chain_free(&ch);
	return rc;
}

int tls_trust_add_pin(struct tls_trust *t, const char *pin)
{
	unsigned char p[32];

	if (t->n_pins >= TLS_VERIFY_MAX_PINS)
		return -ENOSPC;
	if (x509_pin_parse(pin, p) != 0)
		return X509_E_PIN;
	memcpy(t->pins[t->n_pins++], p, 32);
	return 0;
}

void tls_trust_free(struct tls_trust *t)
{
	x509_anchors_free(&t->anchors);
	for (size_t i = 0; i < X509_MAX_CHAIN; i++)
		free(t->anchor_dn[i]);
	memset(t, 0, sizeof(*t));
}

static int pin_listed(const struct tls_trust *t, const unsigned char pin[32])
{
	for (size_t i = 0; i < t->n_pins; i++)
		if (memcmp(t->pins[i], pin, 32) == 0)
			return 1;
	return 0;
}

/* ---- server name matching (RFC 6125 6.4) -------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ascii_eq_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int tls_dns_name_match(const char *pat, size_t plen, const char *name)
{
	size_t nlen = strlen(name);

	/* "host." and "host" are one name (RFC 6125 6.4.1; RFC 1034 3.1). */
	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (plen > 0 && pat[plen - 1] == '.')
		plen--;
	if (nlen == 0 || plen == 0 || name[0] == '.' || memchr(name, '*', nlen))
		return 0;
	if (plen >= 2 && pat[0] == '*' && pat[1] == '.') {
		const char *rest = pat + 2, *dot = memchr(name, '.', nlen);
		size_t rlen = plen - 2;
		/* "*.example.com" yes, "*.com" no: the wildcard's parent must
		 * have two labels (no wildcard over a public suffix). */
		if (rlen == 0 || memchr(rest, '.', rlen) == NULL || rest[0] == '.')
			return 0;
		if (dot == NULL || dot == name)
			return 0;           /* the wildcard stands for one non-empty label */
		return (size_t)(name + nlen - (dot + 1)) == rlen &&
		    ascii_eq_nocase(dot + 1, rest, rlen);
	}
	if (memchr(pat, '*', plen))
		return 0;                   /* partial-label wildcards: never */
	return plen == nlen && ascii_eq_nocase(pat, name, nlen);
}

/* ---- the br_x509_class wrapper ----------------------------------------- */

static void v_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_verifier *v = V(ctx);
	const struct tls_trust *t = v->trust;
	uint32_t days, secs;

	tls_verifier_release(v);
	memset(&v->res, 0, sizeof(v->res));
	v->invoked = 1;
	v->n_certs = 0;
	v->pin_ok = t->n_pins == 0;
	v->leaf_eku_ok = 0;
	v->leaf_bad = 0;
	v->any_not_yet = v->any_expired = 0;
	v->cert_extra = 0;
	v->decided = 0;
	v->host_ok = 0;
	v->expect_dns[0] = '\0';
	v->n_path = 0;
	v->too_long = 0;
	/* As the verifier of a server certificate we must have a name to check
	 * (BearSSL silently skips the check when it gets none): without one,
	 * host_ok stays 0 and the chain fails. */
	if (t->peer_role == TLS_PEER_SERVER && v->expect_ip_len == 0 && server_name != NULL &&
	    strlen(server_name) < sizeof(v->expect_dns))
		strcpy(v->expect_dns, server_name);
	v->now = t->now ? (int64_t)t->now() : (int64_t)time(NULL);
	/* br_x509_minimal_init_full resets everything, including the time:
	 * re-initialise per chain so no state leaks between handshakes. */
	br_x509_minimal_init_full(&v->minimal, t->anchors.ta, t->anchors.n);
	x509_br_time(v->now, &days, &secs);
	br_x509_minimal_set_time(&v->minimal, days, secs);
	/* BearSSL's name check is off: we match the leaf's SANs (end_cert). */
	v->minimal.vtable->start_chain(&v->minimal.vtable, NULL);
}

static void v_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_verifier *v = V(ctx);

	free(v->cert);
	v->cert = NULL;
	v->cert_len = 0;
	v->cert_cap = 0;
	v->cert_overflow = length > TLS_VERIFY_MAX_CERT;
	/* BR_ERR_X509_OK in the middle of a chain means an earlier
	 * certificate was verified by a trust anchor: this one is extra. */
	v->cert_extra = v->minimal.err == BR_ERR_X509_OK;
	if (!v->cert_extra && !v->too_long && v->n_path >= TLS_VERIFY_MAX_CHAIN)
		v->too_long = 1;
	if (v->too_long) {
		v->cert_extra = 1;      /* neither buffered nor given to BearSSL */
		return;
	}
	if (!v->cert_extra)
		v->n_path++;
	if (!v->cert_overflow && !v->cert_extra) {
		v->cert = malloc(length ? length : 1);
		if (v->cert)
			v->cert_cap = length;
		else
			v->cert_overflow = 1;
	}
	v->minimal.vtable->start_cert(&v->minimal.vtable, length);
}

static void v_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_verifier *v = V(ctx);

	if (v->too_long)
		return;
	if (!v->cert_overflow && !v->cert_extra) {
		if (v->cert_cap - v->cert_len < len) {
			v->cert_overflow = 1;
		} else {
			memcpy(v->cert + v->cert_len, buf, len);
			v->cert_len += len;
		}
	}
	v->minimal.vtable->append(&v->minimal.vtable, buf, len);
}

/* The anchor that verified `info` (the top of the validated path) has a
 * listed pin?  BearSSL picks anchors by the issuer DN and the signature; we
 * match the DN and, for P-256 anchors, check the signature with the pinned
 * anchor's key.  Other key types are accepted on the DN only when no second
 * anchor has the same DN. */
static int anchor_pin_ok(const struct tls_verifier *v, const struct x509_info *info)
{
	const struct tls_trust *t = v->trust;
	size_t same_dn = 0;

	for (size_t i = 0; i < t->anchors.n; i++)
		if (t->anchor_dn_len[i] == info->issuer_der_len &&
		    memcmp(t->anchor_dn[i], info->issuer_der, info->issuer_der_len) == 0)
			same_dn++;
	for (size_t i = 0; i < t->anchors.n; i++) {
		const br_x509_trust_anchor *ta = &t->anchors.ta[i];
		if (t->anchor_dn_len[i] != info->issuer_der_len ||
		    memcmp(t->anchor_dn[i], info->issuer_der, info->issuer_der_len) != 0 ||
		    !pin_listed(t, t->anchor_pin[i]))
			continue;
		if (ta->pkey.key_type == BR_KEYTYPE_EC && ta->pkey.key.ec.curve == BR_EC_secp256r1 &&
		    ta->pkey.key.ec.qlen == 65) {
			if (x509_check_signature(info, ta->pkey.key.ec.q) == 0)
				return 1;
		} else if (same_dn == 1) {
			return 1;
		}
	}
	return 0;
}

static void v_end_cert(const br_x509_class **ctx)
{
	struct tls_verifier *v = V(ctx);
	const struct tls_trust *t = v->trust;
	struct x509_info *info = NULL;

	if (v->too_long)
		goto out;
	v->minimal.vtable->end_cert(&v->minimal.vtable);
	if (v->cert_extra)
		goto out;
	if (v->cert_overflow || !(info = calloc(1, sizeof(*info))) ||
	    x509_parse(v->cert, v->cert_len, info) != 0) {
		/* Unparsable: no pin can match it; a bad leaf fails the chain. */
		if (v->n_certs == 0)
			v->leaf_bad = 1;
		goto out;
	}
	if (v->now < info->not_before)
		v->any_not_yet = 1;
	if (v->now > info->not_after)
		v->any_expired = 1;
	if (pin_listed(t, info->pin))
		v->pin_ok = 1;
	/* BearSSL anchored the path at this certificate: check the anchor. */
	if (v->minimal.err == BR_ERR_X509_OK && !v->pin_ok && anchor_pin_ok(v, info))
		v->pin_ok = 1;
	if (v->n_certs == 0) {
		unsigned want = t->peer_role == TLS_PEER_SERVER ? X509_EKU_SERVER_AUTH :
		    X509_EKU_CLIENT_AUTH;
		v->leaf_eku_ok = info->has_eku && (info->eku & want);
		for (size_t i = 0; i < info->sans.n; i++) {
			const struct x509_san *s = &info->sans.san[i];
			if (s->type == X509_SAN_IP && v->expect_ip_len != 0 &&
			    s->len == v->expect_ip_len && memcmp(s->val, v->expect_ip, s->len) == 0)
				v->host_ok = 1;
			if (s->type == X509_SAN_DNS && v->expect_ip_len == 0 && v->expect_dns[0] &&
			    tls_dns_name_match(s->val, s->len, v->expect_dns))
				v->host_ok = 1;
		}
		for (size_t i = 0; i < info->sans.n; i++) {
			const struct x509_san *s = &info->sans.san[i];
			if (s->type == X509_SAN_URI && s->len <= TLS_MAX_IDENTITY) {
				memcpy(v->res.identity, s->val, s->len);
				v->res.identity[s->len] = '\0';
				break;
			}
		}
		if (info->serial_len <= TLS_MAX_SERIAL) {
			memcpy(v->res.serial, info->serial, info->serial_len);
			v->res.serial_len = info->serial_len;
		}
		v->res.not_after = info->not_after;
	}
out:
	v->n_certs++;
	free(info);
	free(v->cert);
	v->cert = NULL;
	v->cert_cap = v->cert_len = 0;
}

static unsigned finish(struct tls_verifier *v, int reason, int err)
{
	v->res.reason = reason;
	v->res.br_err = err;
	v->decided = 1;
	return (unsigned)err;
}

static unsigned v_end_chain(const br_x509_class **ctx)
{
	struct tls_verifier *v = V(ctx);
	const struct tls_trust *t = v->trust;
	unsigned err = v->minimal.vtable->end_chain(&v->minimal.vtable);

	free(v->cert);
	v->cert = NULL;
	if (v->n_certs == 0)
		return finish(v, TLS_VR_NO_CERTIFICATE, BR_ERR_X509_EMPTY_CHAIN);
	if (v->too_long)
		return finish(v, TLS_VR_BAD_CERTIFICATE, BR_ERR_X509_LIMIT_EXCEEDED);
	if (err == BR_ERR_X509_EXPIRED) {
		if (v->any_not_yet && !v->any_expired)
			return finish(v, TLS_VR_NOT_YET_VALID, TLS_ERR_NOT_YET_VALID);
		return finish(v, TLS_VR_EXPIRED, BR_ERR_X509_EXPIRED);
	}
	if (err == BR_ERR_X509_NOT_TRUSTED)
		return finish(v, TLS_VR_UNKNOWN_CA, (int)err);
	if (err == BR_ERR_X509_BAD_SERVER_NAME)
		return finish(v, TLS_VR_HOSTNAME_MISMATCH, (int)err);
	if (err != 0)
		return finish(v, TLS_VR_BAD_CERTIFICATE, (int)err);
	/* BearSSL accepted the chain; now our own checks (an unparsable leaf
	 * first: it also has no names we could have matched). */
	if (v->leaf_bad)
		return finish(v, TLS_VR_BAD_CERTIFICATE, TLS_ERR_BAD_CERT);
	if (t->peer_role == TLS_PEER_SERVER && !v->host_ok)
		return finish(v, TLS_VR_HOSTNAME_MISMATCH, BR_ERR_X509_BAD_SERVER_NAME);
	if (!v->leaf_eku_ok)
		return finish(v, TLS_VR_WRONG_EKU, TLS_ERR_WRONG_EKU);
	if (!v->pin_ok)
		return finish(v, TLS_VR_PIN_MISMATCH, TLS_ERR_PIN_MISMATCH);
	if (t->revoked && t->revoked(t->revoked_arg, v->res.serial, v->res.serial_len))
		return finish(v, TLS_VR_REVOKED, TLS_ERR_REVOKED);
	if (t->require_identity && v->res.identity[0] == '\0')
		return finish(v, TLS_VR_NO_IDENTITY, TLS_ERR_NO_IDENTITY);
	return finish(v, TLS_VR_OK, 0);
}

static const br_x509_pkey *v_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct tls_verifier *v = (const struct tls_verifier *)(const void *)ctx;

	/* Only a chain end_chain() accepted: BearSSL's own get_pkey also
	 * answers after NOT_TRUSTED, and before end_chain once an anchor
	 * verified a certificate (pins, EKU, revocation not yet checked). */
	if (!v->invoked || !v->decided || v->res.reason != TLS_VR_OK)
		return NULL;
	return v->minimal.vtable->get_pkey(&v->minimal.vtable, usages);
}

static const br_x509_class verifier_vtable = {
	sizeof(struct tls_verifier),
	v_start_chain,
	v_start_cert,
	v_append,
	v_end_cert,
	v_end_chain,
	v_get_pkey,
};

void tls_verifier_init(struct tls_verifier *v, const struct tls_trust *trust)
{
	memset(v, 0, sizeof(*v));
	v->vtable = &verifier_vtable;
	v->trust = trust;
	br_x509_minimal_init_full(&v->minimal, trust->anchors.ta, trust->anchors.n);
}

int tls_verifier_set_server_name(struct tls_verifier *v, const char *name)
{
	unsigned char a[16];

	v->expect_ip_len = 0;
	if (name == NULL)
		return 0;
	if (inet_pton(AF_INET, name, a) == 1) {
		memcpy(v->expect_ip, a, 4);
		v->expect_ip_len = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, name, a) == 1) {
		memcpy(v->expect_ip, a, 16);
		v->expect_ip_len = 16;
		return 1;
	}
	return 0;
}

void tls_verifier_release(struct tls_verifier *v)
{
	free(v->cert);
	v->cert = NULL;
	v->cert_len = v->cert_cap = 0;
}
