/*
 * text.h: checks every configuration file passes before any parser sees it.
 *
 * Both syntaxes share them so that YAML and INI reject the same bytes with
 * the same message: files over CFG_MAX_FILE, NUL bytes, invalid UTF-8
 * (overlong forms, surrogates, > U+10FFFF), control characters other than
 * tab/CR/LF (a CR only as part of CRLF), lines over CFG_MAX_LINE bytes.
 */
#ifndef STAVILY_CONFIG_TEXT_H
#define STAVILY_CONFIG_TEXT_H

#include <stddef.h>

#include "base/util.h"

/* One parse error: the 1-based line (0 = the file as a whole) and a message. */
struct cfg_diag {
	int line;
	char msg[200];
};

/* 0 if `buf` (len bytes, need not be NUL-terminated) passes; otherwise -1
 * with `d` naming the first offending line. */
int cfg_text_check(const char *buf, size_t len, struct cfg_diag *d) WARN_UNUSED;

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if invalid. */
size_t cfg_utf8_seq(const unsigned char *s, size_t len);

#endif
