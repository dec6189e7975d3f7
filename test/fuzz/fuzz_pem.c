/* libFuzzer target: PEM decoder, strict base64, and the PEM-fed loaders
 * (private keys, certificate chains, CSRs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "crypto/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct pem_list l;
	struct key_p256 k;
	struct x509_chain ch;
	unsigned char *der = NULL, *out;
	size_t dlen = 0, n, i;

	if (pem_decode(text, size, &l) == PEM_OK) {
		for (i = 0; i < l.n; i++) {
			char *enc = NULL;
			size_t elen = 0;
			struct pem_list back;

			/* Round trip: what we decode re-encodes and decodes equal. */
			if (pem_encode(l.obj[i].label, l.obj[i].der, l.obj[i].len, &enc, &elen) != 0)
				continue;
			if (pem_decode(enc, elen, &back) != PEM_OK || back.n != 1 ||
			    back.obj[0].len != l.obj[i].len ||
			    memcmp(back.obj[0].der, l.obj[i].der, l.obj[i].len) != 0)
				abort();
			pem_list_free(&back);
			free(enc);
		}
		pem_list_free(&l);
	}
	out = malloc(BASE64_DECODED_MAX(size) + 1);
	if (out != NULL && base64_decode(text, size, out, &n) == 0) {
		char *enc = malloc(BASE64_ENCODED_LEN(n) + 1);
		/* Strict: the only accepted encoding is the canonical one. */
		if (enc == NULL || base64_encode(out, n, enc) != size || memcmp(enc, text, size) != 0)
			abort();
		free(enc);
	}
	free(out);
	if (key_from_pem(&k, text, size) == 0)
		key_wipe(&k);
	if (x509_chain_from_pem(text, size, &ch) == 0)
		x509_chain_free(&ch);
	if (csr_der_from_pem(text, size, &der, &dlen) == 0)
		free(der);
	return 0;
}
