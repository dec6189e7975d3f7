/* libFuzzer target: the PKCS#10 parser and self-signature check. */
#include <stdint.h>
#include <stdlib.h>

#include "crypto/csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csr_info *ci = malloc(sizeof(*ci));
	size_t i;

	if (ci == NULL)
		return 0;
	if (csr_parse(data, size, ci) == 0) {
		/* SAN entries are bounded and NUL-terminated. */
		if (ci->sans.n > X509_MAX_SANS)
			abort();
		for (i = 0; i < ci->sans.n; i++)
			if (ci->sans.san[i].len > X509_MAX_SAN_LEN || ci->sans.san[i].val[ci->sans.san[i].len] != '\0')
				abort();
	}
	free(ci);
	return 0;
}
