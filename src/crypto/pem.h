/*
 * pem.h: PEM (RFC 7468) encoding and strict decoding.
 *
 * The decoder reads a text that holds one or more PEM objects, optionally
 * with explanatory text between them (as `openssl x509 -text` writes).
 * Inside an object it requires: a "-----BEGIN <label>-----" line, base64
 * lines (strict, see base64.h; CRLF or LF endings, trailing spaces and tabs
 * tolerated as RFC 7468 allows, no headers such as Proc-Type, so encrypted
 * legacy keys are refused), and an "-----END <label>-----" line with the same
 * label.  Anything malformed inside BEGIN..END is an error, not skipped.
 */
#ifndef STAVILY_CRYPTO_PEM_H
#define STAVILY_CRYPTO_PEM_H

#include <stddef.h>
#include "base/util.h"

/* Caps: input text, objects per text, label length. */
#define PEM_MAX_INPUT   (1u << 20)
#define PEM_MAX_OBJECTS 16
#define PEM_MAX_LABEL   64

struct pem_object {
	char label[PEM_MAX_LABEL + 1];   /* e.g. "CERTIFICATE" */
	unsigned char *der;              /* malloc'd */
	size_t len;
};

struct pem_list {
	struct pem_object obj[PEM_MAX_OBJECTS];
	size_t n;
};

enum pem_err {
	PEM_OK = 0,
	PEM_E_NONE = -1,      /* no BEGIN line at all */
	PEM_E_SYNTAX = -2,    /* malformed BEGIN/END line, label mismatch, missing END */
	PEM_E_BASE64 = -3,    /* bad base64 character, padding or length */
	PEM_E_TOO_BIG = -4,   /* input over PEM_MAX_INPUT or over PEM_MAX_OBJECTS */
	PEM_E_NOMEM = -5,
};

/* Decode every object of `text` (`len` bytes, need not be NUL-terminated)
 * into `out`.  On error nothing is left allocated.  The caller releases the
 * list with pem_list_free (which wipes: keys pass here). */
int pem_decode(const char *text, size_t len, struct pem_list *out) WARN_UNUSED;

void pem_list_free(struct pem_list *l);

/* Encode `der` as one PEM object with 64-character lines and a final
 * newline.  *out is malloc'd, NUL-terminated; *outlen excludes the NUL.
 * Returns 0 or -ENOMEM / -EINVAL (label too long or empty). */
int pem_encode(const char *label, const void *der, size_t len, char **out,
    size_t *outlen) WARN_UNUSED;

const char *pem_strerror(int err);

#endif
