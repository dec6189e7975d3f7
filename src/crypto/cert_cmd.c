/*
 * cert_cmd.c: `stavily cert`: inspect, pin and verify certificates, plus the
 * small CA helpers used by tests and operators (ca-init, key, csr, issue).
 * The orchestrator calls the library (x509.h, csr.h, key.h) directly; these
 * commands are thin wrappers that print and choose exit statuses.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "base/hex.h"
#include "crypto/ca.h"
#include "crypto/csr.h"
#include "crypto/der.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "crypto/x509.h"

static const char usage[] =
    "usage: stavily cert show [--json] FILE      certificate or CSR (PEM or DER), human-readable\n"
    "       stavily cert pin FILE                 sha256:<hex> of the first certificate's SubjectPublicKeyInfo\n"
    "       stavily cert verify --ca CA.pem [--purpose server|client] [--at UNIX_SECONDS] FILE\n"
    "                                             validate FILE's chain (leaf first); exit 0, or 1 with a reason\n"
    "  PKI helpers (used by tests and for manual setups; the orchestrator has its own CA code path):\n"
    "       stavily cert ca-init --out DIR [--cn NAME] [--days N]\n"
    "                                             new P-256 CA: DIR/ca.key (0600), DIR/ca.pem; prints the pin\n"
    "       stavily cert key --out FILE           new P-256 private key (PKCS#8 PEM, mode 0600)\n"
    "       stavily cert csr --key FILE --cn CN [--dns NAME]... [--ip ADDR]... [--uri URI]... --out FILE\n"
    "                                             PKCS#10 request signed with FILE's key\n"
    "       stavily cert issue --ca-dir DIR --csr FILE --profile client|server --out FILE\n"
    "                  [--cn CN] [--dns NAME]... [--ip ADDR]... [--uri URI]... [--days N]\n"
    "                  [--not-before UNIX_SECONDS] [--not-after UNIX_SECONDS]\n"
    "                                             sign a CSR (SANs from the options, else from the CSR)\n"
    "  Exit status: 0 ok, 1 failure (verify: the reason is printed), 64 usage.\n";

#define CERT_MAX_FILE X509_MAX_PEM_FILE

/* Read FILE and return the DER of its first object with one of the labels
 * (PEM), or the file itself when it is not PEM (DER). */
static int
load_der(const char *path, const char *label1, const char *label2, unsigned char **der,
    size_t *len, char *found_label, size_t fl_cap)
{
	char *buf = NULL;
	size_t blen = 0, i;
	struct pem_list l;
	int r;

	r = file_read_all(path, CERT_MAX_FILE, &buf, &blen);
	if (r < 0) {
		cli_error("%s: %s", path, strerror(-r));
		return -1;
	}
	if (memmem(buf, blen, "-----BEGIN ", 11) == NULL) {
		*der = (unsigned char *)buf;
		*len = blen;
		if (found_label != NULL)
			snprintf(found_label, fl_cap, "DER");
		return 0;
	}
	r = pem_decode(buf, blen, &l);
	free(buf);
	if (r != PEM_OK) {
		cli_error("%s: %s", path, pem_strerror(r));
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.obj[i].label, label1) == 0 ||
		    (label2 != NULL && strcmp(l.obj[i].label, label2) == 0)) {
			*der = l.obj[i].der;
			*len = l.obj[i].len;
			if (found_label != NULL)
				snprintf(found_label, fl_cap, "%s", l.obj[i].label);
			l.obj[i].der = NULL;
			pem_list_free(&l);
			return 0;
		}
	}
	pem_list_free(&l);
	cli_error("%s: no %s found", path, label1);
	return -1;
}

static void
fmt_time(int64_t t, char out[80])
{
	int64_t y, days = t >= 0 ? t / 86400 : (t - 86399) / 86400, s = t - days * 86400;
	unsigned m, d;

	der_civil_from_days(days, &y, &m, &d);
	snprintf(out, 80, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
	    (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
}

static void
ku_text(unsigned ku, char *out, size_t cap)
{
	static const char *const names[] = { "digitalSignature", "nonRepudiation",
		"keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly" };
	size_t i;

	out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (ku & (1u << i))
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", names[i]);
}

static void
eku_text(unsigned eku, char *out, size_t cap)
{
	out[0] = '\0';
	if (eku & X509_EKU_SERVER_AUTH)
		snprintf(out + strlen(out), cap - strlen(out), "%sserverAuth", out[0] ? "," : "");
	if (eku & X509_EKU_CLIENT_AUTH)
		snprintf(out + strlen(out), cap - strlen(out), "%sclientAuth", out[0] ? "," : "");
	if (eku & X509_EKU_ANY)
		snprintf(out + strlen(out), cap - strlen(out), "%sanyExtendedKeyUsage", out[0] ? "," : "");
	if (eku & X509_EKU_OTHER)
		snprintf(out + strlen(out), cap - strlen(out), "%sother", out[0] ? "," : "");
}

static int
show_cert(const unsigned char *der, size_t len, int json)
{
	struct x509_info *ci = malloc(sizeof(*ci));
	char serial[2 * 20 + 1], nb[80], na[80], pin[X509_PIN_STR_LEN], ku[160], eku[96], san[300];
	char ski[41], aki[41];
	size_t i;
	int r;

	if (ci == NULL)
		return EXIT_FAIL;
	r = x509_parse(der, len, ci);
	if (r < 0) {
		cli_error("certificate: %s", x509_strerror(r));
		free(ci);
		return EXIT_FAIL;
	}
	hex_encode(ci->serial, ci->serial_len, serial);
	fmt_time(ci->not_before, nb);
	fmt_time(ci->not_after, na);
	x509_pin_format(ci->pin, pin);
	ku_text(ci->ku, ku, sizeof(ku));
	eku_text(ci->eku, eku, sizeof(eku));
	hex_encode(ci->ski, ci->ski_len, ski);
	hex_encode(ci->aki, ci->aki_len, aki);
	if (json) {
		cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
		char *s;

		cJSON_AddStringToObject(o, "type", "certificate");
		cJSON_AddNumberToObject(o, "version", ci->version);
		cJSON_AddStringToObject(o, "serial", serial);
		cJSON_AddStringToObject(o, "subject", ci->subject);
		cJSON_AddStringToObject(o, "subject_cn", ci->subject_cn);
		cJSON_AddStringToObject(o, "issuer", ci->issuer);
		cJSON_AddStringToObject(o, "not_before", nb);
		cJSON_AddStringToObject(o, "not_after", na);
		cJSON_AddNumberToObject(o, "not_before_unix", (double)ci->not_before);
		cJSON_AddNumberToObject(o, "not_after_unix", (double)ci->not_after);
		cJSON_AddStringToObject(o, "key", ci->key_p256 ? "EC P-256" : "other");
		cJSON_AddStringToObject(o, "signature", ci->sig_ecdsa_sha256 ? "ecdsa-with-SHA256" : "other");
		cJSON_AddBoolToObject(o, "ca", ci->is_ca);
		if (ci->has_bc && ci->pathlen >= 0)
			cJSON_AddNumberToObject(o, "path_len", ci->pathlen);
		cJSON_AddStringToObject(o, "key_usage", ku);
		cJSON_AddStringToObject(o, "ext_key_usage", eku);
		for (i = 0; i < ci->sans.n; i++) {
			x509_san_format(&ci->sans.san[i], san, sizeof(san));
			cJSON_AddItemToArray(a, cJSON_CreateString(san));
		}
		cJSON_AddItemToObject(o, "san", a);
		cJSON_AddStringToObject(o, "ski", ski);
		cJSON_AddStringToObject(o, "aki", aki);
		cJSON_AddStringToObject(o, "pin", pin);
		s = cJSON_PrintUnformatted(o);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else {
		printf("Certificate:\n");
		printf("  Version:        %d\n", ci->version);
		printf("  Serial:         %s\n", serial);
		printf("  Subject:        %s\n", ci->subject);
		printf("  Issuer:         %s\n", ci->issuer);
		printf("  Not before:     %s\n", nb);
		printf("  Not after:      %s\n", na);
		printf("  Public key:     %s\n", ci->key_p256 ? "EC P-256" : "other (not EC P-256)");
		printf("  Signature:      %s\n", ci->sig_ecdsa_sha256 ? "ecdsa-with-SHA256" : "other");
		if (ci->has_bc) {
			printf("  Basic constr.:  CA:%s", ci->is_ca ? "TRUE" : "FALSE");
			if (ci->pathlen >= 0)
				printf(", pathlen:%d", ci->pathlen);
			printf("%s\n", ci->bc_critical ? " (critical)" : "");
		}
		if (ci->has_ku)
			printf("  Key usage:      %s%s\n", ku, ci->ku_critical ? " (critical)" : "");
		if (ci->has_eku)
			printf("  Ext. key usage: %s%s\n", eku, ci->eku_critical ? " (critical)" : "");
		for (i = 0; i < ci->sans.n; i++) {
			x509_san_format(&ci->sans.san[i], san, sizeof(san));
			printf("  SAN:            %s\n", san);
		}
		if (ci->has_ski)
			printf("  Subject key id: %s\n", ski);
		if (ci->has_aki)
			printf("  Auth. key id:   %s\n", aki);
		printf("  SPKI pin:       %s\n", pin);
	}
	free(ci);
	return EXIT_OK;
}

static int
show_csr(const unsigned char *der, size_t len, int json)
{
	struct csr_info *ci = malloc(sizeof(*ci));
	char san[300];
	size_t i;
	int r;

	if (ci == NULL)
		return EXIT_FAIL;
	r = csr_parse(der, len, ci);
	if (r < 0) {
		cli_error("request: %s", csr_strerror(r));
		free(ci);
		return EXIT_FAIL;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
		char *s;

		cJSON_AddStringToObject(o, "type", "certificate_request");
		cJSON_AddStringToObject(o, "subject", ci->subject);
		cJSON_AddStringToObject(o, "subject_cn", ci->cn);
		cJSON_AddBoolToObject(o, "signature_valid", 1);
		for (i = 0; i < ci->sans.n; i++) {
			x509_san_format(&ci->sans.san[i], san, sizeof(san));
			cJSON_AddItemToArray(a, cJSON_CreateString(san));
		}
		cJSON_AddItemToObject(o, "san", a);
		s = cJSON_PrintUnformatted(o);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else {
		printf("Certificate request:\n");
		printf("  Subject:        %s\n", ci->subject);
		printf("  Public key:     EC P-256\n");
		printf("  Signature:      ecdsa-with-SHA256, verified\n");
		for (i = 0; i < ci->sans.n; i++) {
			x509_san_format(&ci->sans.san[i], san, sizeof(san));
			printf("  Requested SAN:  %s\n", san);
		}
	}
	free(ci);
	return EXIT_OK;
}

static int
cmd_show(int argc, char **argv)
{
	const char *file = NULL;
	char label[PEM_MAX_LABEL + 1];
	unsigned char *der = NULL;
	size_t len = 0;
	int json = 0, i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' || file != NULL)
			return cli_usage_error(usage, "cert show: unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (file == NULL)
		return cli_usage_error(usage, "cert show: FILE required");
	/* A certificate if there is one, else a request. */
	if (load_der(file, "CERTIFICATE", "CERTIFICATE REQUEST", &der, &len, label, sizeof(label)) < 0)
		return EXIT_FAIL;
	if (strcmp(label, "CERTIFICATE REQUEST") == 0)
		rc = show_csr(der, len, json);
	else if (strcmp(label, "DER") == 0) {
		struct x509_info *probe = malloc(sizeof(*probe));
		int is_cert = probe != NULL && x509_parse(der, len, probe) == 0;
		free(probe);
		rc = is_cert ? show_cert(der, len, json) : show_csr(der, len, json);
	} else
		rc = show_cert(der, len, json);
	free(der);
	return rc;
}

static int
cmd_pin(int argc, char **argv)
{
	unsigned char *der = NULL, pin[32];
	char s[X509_PIN_STR_LEN];
	size_t len = 0;
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_error(usage, "cert pin: exactly one FILE required");
	if (load_der(argv[1], "CERTIFICATE", NULL, &der, &len, NULL, 0) < 0)
		return EXIT_FAIL;
	r = x509_spki_pin(der, len, pin);
	free(der);
	if (r < 0) {
		cli_error("%s: %s", argv[1], x509_strerror(r));
		return EXIT_FAIL;
	}
	x509_pin_format(pin, s);
	printf("%s\n", s);
	return EXIT_OK;
}

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	const char *ca = NULL, *file = NULL, *purpose = NULL;
	struct x509_chain chain;
	struct x509_anchors anchors;
	int64_t now = (int64_t)time(NULL);
	unsigned eku = 0;
	int i, r, br_err = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--purpose") == 0 && i + 1 < argc)
			purpose = argv[++i];
		else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
			if (parse_i64(argv[++i], &now) < 0)
				return cli_usage_error(usage, "cert verify: --at needs Unix seconds");
		} else if (argv[i][0] == '-' || file != NULL)
			return cli_usage_error(usage, "cert verify: unexpected argument '%s'", argv[i]);
		else
			file = argv[i];
	}
	if (ca == NULL || file == NULL)
		return cli_usage_error(usage, "cert verify: --ca CA.pem and FILE required");
	if (purpose != NULL) {
		if (strcmp(purpose, "server") == 0)
			eku = X509_EKU_SERVER_AUTH;
		else if (strcmp(purpose, "client") == 0)
			eku = X509_EKU_CLIENT_AUTH;
		else
			return cli_usage_error(usage, "cert verify: --purpose is server or client");
	}
	r = x509_anchors_load_file(ca, &anchors);
	if (r < 0) {
		cli_error("%s: %s", ca, x509_strerror(r));
		return EXIT_FAIL;
	}
	r = x509_chain_load_file(file, &chain);
	if (r < 0) {
		x509_anchors_free(&anchors);
		cli_error("%s: %s", file, x509_strerror(r));
		return EXIT_FAIL;
	}
	r = x509_verify_chain(&chain, &anchors, now, eku, &br_err);
	x509_chain_free(&chain);
	x509_anchors_free(&anchors);
	if (r != X509_V_OK) {
		const char *bn = x509_br_err_name(br_err);
		printf("%s: verification failed: %s (BearSSL %d%s%s)\n", file, x509_verify_name(r),
		    br_err, bn ? " " : "", bn ? bn : "");
		return EXIT_FAIL;
	}
	printf("%s: ok\n", file);
	return EXIT_OK;
}

static int
write_pem_file(const char *path, const char *label, const unsigned char *der, size_t len, mode_t mode)
{
	char *pem = NULL;
	size_t plen = 0;
	int r;

	r = pem_encode(label, der, len, &pem, &plen);
	if (r == 0)
		r = file_write_atomic(path, pem, plen, mode);
	free(pem);
	if (r < 0)
		cli_error("%s: %s", path, strerror(-r));
	return r;
}

static int
cmd_ca_init(int argc, char **argv)
{
	const char *dir = NULL, *cn = "Stavily CA";
	char pin[X509_PIN_STR_LEN];
	struct ca ca;
	int64_t days = 3650;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--cn") == 0 && i + 1 < argc)
			cn = argv[++i];
		else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			if (parse_i64(argv[++i], &days) < 0 || days < 1 || days > 36500)
				return cli_usage_error(usage, "cert ca-init: --days is 1..36500");
		} else
			return cli_usage_error(usage, "cert ca-init: unexpected argument '%s'", argv[i]);
	}
	if (dir == NULL)
		return cli_usage_error(usage, "cert ca-init: --out DIR required");
	r = ca_create(dir, cn, (unsigned)days, (int64_t)time(NULL), &ca);
	if (r < 0) {
		cli_error("%s: %s", dir, r == -EEXIST ? "a CA key already exists there" : ca_strerror(r));
		return EXIT_FAIL;
	}
	x509_pin_format(ca.pin, pin);
	printf("%s\n", pin);
	ca_free(&ca);
	return EXIT_OK;
}

static int
cmd_key(int argc, char **argv)
{
	struct key_p256 key;
	int r;

	if (argc != 3 || strcmp(argv[1], "--out") != 0)
		return cli_usage_error(usage, "cert key: --out FILE required");
	r = key_generate(&key);
	if (r == 0)
		r = key_save_file(&key, argv[2]);
	key_wipe(&key);
	if (r < 0) {
		cli_error("%s: %s", argv[2], key_strerror(r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* --dns/--ip/--uri options into `sans`; returns 1 if argv[*i] was one, 0 if
 * not, -1 on a bad value (message printed). */
static int
san_option(int argc, char **argv, int *i, struct x509_sans *sans)
{
	int r;

	if (*i + 1 >= argc)
		return 0;
	if (strcmp(argv[*i], "--dns") == 0)
		r = x509_sans_add_dns(sans, argv[*i + 1]);
	else if (strcmp(argv[*i], "--ip") == 0)
		r = x509_sans_add_ip(sans, argv[*i + 1]);
	else if (strcmp(argv[*i], "--uri") == 0)
		r = x509_sans_add_uri(sans, argv[*i + 1]);
	else
		return 0;
	if (r < 0) {
		cli_error("%s %s: %s", argv[*i], argv[*i + 1], x509_strerror(r));
		return -1;
	}
	(*i)++;
	return 1;
}

static int
cmd_csr(int argc, char **argv)
{
	const char *keyfile = NULL, *cn = NULL, *out = NULL;
	struct x509_sans *sans = calloc(1, sizeof(*sans));
	struct key_p256 key;
	unsigned char *der = NULL;
	size_t len = 0;
	int i, r, rc = EXIT_FAIL;

	if (sans == NULL)
		return EXIT_FAIL;
	memset(&key, 0, sizeof(key));
	for (i = 1; i < argc; i++) {
		r = san_option(argc, argv, &i, sans);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keyfile = argv[++i];
		else if (strcmp(argv[i], "--cn") == 0 && i + 1 < argc)
			cn = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else {
			rc = cli_usage_error(usage, "cert csr: unexpected argument '%s'", argv[i]);
			goto out;
		}
	}
	if (keyfile == NULL || cn == NULL || out == NULL) {
		rc = cli_usage_error(usage, "cert csr: --key, --cn and --out required");
		goto out;
	}
	r = key_load_file(&key, keyfile);
	if (r < 0) {
		cli_error("%s: %s", keyfile, key_strerror(r));
		goto out;
	}
	r = csr_build(&key, cn, sans, &der, &len);
	if (r < 0) {
		cli_error("request: %s", csr_strerror(r));
		goto out;
	}
	if (write_pem_file(out, "CERTIFICATE REQUEST", der, len, 0644) < 0)
		goto out;
	rc = EXIT_OK;
out:
	key_wipe(&key);
	free(der);
	free(sans);
	return rc;
}

static int
cmd_issue(int argc, char **argv)
{
	const char *cadir = NULL, *csrfile = NULL, *profile = NULL, *out = NULL, *cn = NULL;
	struct x509_sans *sans = calloc(1, sizeof(*sans));
	struct csr_info *ci = calloc(1, sizeof(*ci));
	unsigned char *csr_der = NULL, *der = NULL;
	size_t csr_len = 0, len = 0;
	struct x509_issue_req req;
	struct ca ca;
	int64_t days = 90, nb = 0, na = 0;
	int i, r, rc = EXIT_FAIL;

	memset(&ca, 0, sizeof(ca));
	if (sans == NULL || ci == NULL)
		goto out;
	for (i = 1; i < argc; i++) {
		r = san_option(argc, argv, &i, sans);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		if (i + 1 >= argc) {
			rc = cli_usage_error(usage, "cert issue: unexpected argument '%s'", argv[i]);
			goto out;
		}
		if (strcmp(argv[i], "--ca-dir") == 0)
			cadir = argv[++i];
		else if (strcmp(argv[i], "--csr") == 0)
			csrfile = argv[++i];
		else if (strcmp(argv[i], "--profile") == 0)
			profile = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "--cn") == 0)
			cn = argv[++i];
		else if (strcmp(argv[i], "--days") == 0 && parse_i64(argv[i + 1], &days) == 0 &&
		    days >= 1 && days <= 36500)
			i++;
		else if (strcmp(argv[i], "--not-before") == 0 && parse_i64(argv[i + 1], &nb) == 0)
			i++;
		else if (strcmp(argv[i], "--not-after") == 0 && parse_i64(argv[i + 1], &na) == 0)
			i++;
		else {
			rc = cli_usage_error(usage, "cert issue: bad argument '%s'", argv[i]);
			goto out;
		}
	}
	if (cadir == NULL || csrfile == NULL || profile == NULL || out == NULL ||
	    (strcmp(profile, "client") != 0 && strcmp(profile, "server") != 0)) {
		rc = cli_usage_error(usage, "cert issue: --ca-dir, --csr, --profile client|server and --out required");
		goto out;
	}
	if (load_der(csrfile, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", &csr_der, &csr_len,
	    NULL, 0) < 0)
		goto out;
	/* Without SAN options, this helper copies the request's SANs (the
	 * orchestrator never does: it decides identities itself). */
	r = csr_parse(csr_der, csr_len, ci);
	if (r < 0) {
		cli_error("%s: %s", csrfile, csr_strerror(r));
		goto out;
	}
	r = ca_load(cadir, &ca);
	if (r < 0) {
		cli_error("%s: %s", cadir, ca_strerror(r));
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.profile = strcmp(profile, "server") == 0 ? X509_PROFILE_SERVER : X509_PROFILE_CLIENT;
	req.cn = cn;
	req.sans = sans->n > 0 ? sans : &ci->sans;
	x509_validity((int64_t)time(NULL), (unsigned)days, &req.not_before, &req.not_after);
	if (nb != 0)
		req.not_before = nb;
	if (na != 0)
		req.not_after = na;
	r = ca_issue_csr(&ca, csr_der, csr_len, &req, NULL, &der, &len);
	if (r < 0) {
		cli_error("issue: %s", ca_strerror(r));
		goto out;
	}
	r = ca_save_cert_pem(out, der, len);
	if (r < 0) {
		cli_error("%s: %s", out, strerror(-r));
		goto out;
	}
	rc = EXIT_OK;
out:
	ca_free(&ca);
	free(csr_der);
	free(der);
	free(sans);
	free(ci);
	return rc;
}

int
cert_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, NULL);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "pin") == 0)
		return cmd_pin(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "ca-init") == 0)
		return cmd_ca_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "key") == 0)
		return cmd_key(argc - 1, argv + 1);
	if (strcmp(argv[1], "csr") == 0)
		return cmd_csr(argc - 1, argv + 1);
	if (strcmp(argv[1], "issue") == 0)
		return cmd_issue(argc - 1, argv + 1);
	return cli_usage_error(usage, "cert: unknown subcommand '%s'", argv[1]);
}
