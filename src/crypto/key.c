/* see key.h */
#include "crypto/key.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "crypto/pem.h"
#include "crypto/rng.h"

/* Order of the P-256 group (SEC 2, 2.4.2). */
static const unsigned char p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static void
point_views(struct key_p256 *k)
{
	k->sk.curve = BR_EC_secp256r1;
	k->sk.x = k->priv;
	k->sk.xlen = KEY_P256_PRIV_LEN;
	k->pk.curve = BR_EC_secp256r1;
	k->pk.q = k->pub;
	k->pk.qlen = KEY_P256_PUB_LEN;
}

void
key_wipe(struct key_p256 *k)
{
	WIPE(k, sizeof(*k));
}

void
key_copy(struct key_p256 *dst, const struct key_p256 *src)
{
	memcpy(dst->priv, src->priv, sizeof(dst->priv));
	memcpy(dst->pub, src->pub, sizeof(dst->pub));
	point_views(dst);
}

int
key_from_scalar(struct key_p256 *k, const unsigned char *x, size_t xlen)
{
	unsigned char s[32];
	unsigned acc = 0;
	int cmp = 0;
	size_t i;

	/* SEC1 allows leading zero octets to be dropped by lax encoders. */
	while (xlen > 32 && x[0] == 0) {
		x++;
		xlen--;
	}
	if (xlen == 0 || xlen > 32)
		return KEY_E_RANGE;
	memset(s, 0, sizeof(s));
	memcpy(s + 32 - xlen, x, xlen);
	for (i = 0; i < 32; i++) {
		acc |= s[i];
		if (cmp == 0 && s[i] != p256_order[i])
			cmp = s[i] < p256_order[i] ? -1 : 1;
	}
	/* br_ec_compute_pub does not detect off-range scalars. */
	if (acc == 0 || cmp >= 0) {
		WIPE(s, sizeof(s));
		return KEY_E_RANGE;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->priv, s, 32);
	WIPE(s, sizeof(s));
	point_views(k);
	if (br_ec_compute_pub(br_ec_get_default(), NULL, k->pub, &k->sk) != KEY_P256_PUB_LEN) {
		key_wipe(k);
		return KEY_E_RANGE;
	}
	return 0;
}

int
key_generate(struct key_p256 *k)
{
	br_hmac_drbg_context drbg;
	unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	br_ec_private_key sk;
	size_t n;
	int r;

	r = rng_seed_drbg(&drbg);
	if (r < 0)
		return r;
	n = br_ec_keygen(&drbg.vtable, br_ec_get_default(), &sk, kbuf, BR_EC_secp256r1);
	WIPE(&drbg, sizeof(drbg));
	if (n != KEY_P256_PRIV_LEN) {
		WIPE(kbuf, sizeof(kbuf));
		return -EIO;
	}
	r = key_from_scalar(k, kbuf, n);
	WIPE(kbuf, sizeof(kbuf));
	return r < 0 ? -EIO : 0;
}

int
key_from_der(struct key_p256 *k, const unsigned char *der, size_t len)
{
	br_skey_decoder_context dc;
	const br_ec_private_key *ec;
	int r;

	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der, len);
	if (br_skey_decoder_last_error(&dc) != 0 ||
	    br_skey_decoder_key_type(&dc) != BR_KEYTYPE_EC) {
		r = KEY_E_FORMAT;
		goto out;
	}
	ec = br_skey_decoder_get_ec(&dc);
	if (ec == NULL) {
		r = KEY_E_FORMAT;
		goto out;
	}
	if (ec->curve != BR_EC_secp256r1) {
		r = KEY_E_CURVE;
		goto out;
	}
	r = key_from_scalar(k, ec->x, ec->xlen);
out:
	WIPE(&dc, sizeof(dc));
	return r;
}

int
key_from_pem(struct key_p256 *k, const char *pem, size_t len)
{
	struct pem_list l;
	size_t i;
	int r;

	if (pem_decode(pem, len, &l) != PEM_OK)
		return KEY_E_PEM;
	r = KEY_E_PEM;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.obj[i].label, "PRIVATE KEY") == 0 ||
		    strcmp(l.obj[i].label, "EC PRIVATE KEY") == 0) {
			r = key_from_der(k, l.obj[i].der, l.obj[i].len);
			break;
		}
	}
	pem_list_free(&l);
	return r;
}

int
key_load_file(struct key_p256 *k, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = file_read_all(path, KEY_MAX_FILE, &buf, &len);
	if (r < 0)
		return r;
	r = key_from_pem(k, buf, len);
	WIPE(buf, len);
	free(buf);
	return r;
}

int
key_to_pem(const struct key_p256 *k, char **out, size_t *outlen)
{
	struct key_p256 tmp;
	unsigned char der[256];
	size_t n;
	int r;

	key_copy(&tmp, k);
	n = br_encode_ec_pkcs8_der(NULL, &tmp.sk, &tmp.pk);
	if (n == 0 || n > sizeof(der)) {
		key_wipe(&tmp);
		return -EINVAL;
	}
	br_encode_ec_pkcs8_der(der, &tmp.sk, &tmp.pk);
	r = pem_encode("PRIVATE KEY", der, n, out, outlen);
	WIPE(der, sizeof(der));
	key_wipe(&tmp);
	return r;
}

int
key_save_file(const struct key_p256 *k, const char *path)
{
	char *pem = NULL;
	size_t len = 0;
	int r;

	r = key_to_pem(k, &pem, &len);
	if (r < 0)
		return r;
	r = file_write_atomic(path, pem, len, 0600);
	WIPE(pem, len);
	free(pem);
	return r;
}

const char *
key_strerror(int err)
{
	switch (err) {
	case KEY_E_PEM: return "no PRIVATE KEY or EC PRIVATE KEY PEM object";
	case KEY_E_FORMAT: return "not a PKCS#8 or SEC1 EC private key";
	case KEY_E_CURVE: return "EC key is not on P-256";
	case KEY_E_RANGE: return "private key scalar out of range";
	}
	return err < 0 ? strerror(-err) : "ok";
}
