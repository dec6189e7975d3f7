/* Unit tests for src/crypto/rng.c and key.c. */
#include "harness.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "crypto/key.h"
#include "crypto/rng.h"

static void
test_rng_distinct_and_nonzero(void)
{
	unsigned char a[64], b[64], z[64];

	memset(z, 0, sizeof(z));
	CHECK_EQ_INT(rng_bytes(a, sizeof(a)), 0);
	CHECK_EQ_INT(rng_bytes(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, z, sizeof(a)) != 0);
	CHECK_EQ_INT(rng_kernel_bytes(a, 32), 0);
	CHECK_EQ_INT(rng_kernel_bytes(a, 257), -EINVAL);
	CHECK_EQ_INT(rng_bytes(a, RNG_MAX_REQUEST + 1), -EINVAL);
}

static void
test_rng_bit_balance(void)
{
	/* A gross bias check: 64 KiB of output has about half its bits set
	 * (mean 262144, sd 362; allow 10 sd). */
	static unsigned char buf[65536];
	long ones = 0;
	size_t i;

	CHECK_EQ_INT(rng_bytes(buf, sizeof(buf)), 0);
	for (i = 0; i < sizeof(buf); i++)
		ones += __builtin_popcount(buf[i]);
	CHECK(ones > 262144 - 3620 && ones < 262144 + 3620);
}

static void
test_rng_fork_does_not_replay(void)
{
	unsigned char parent[32], child[32];
	int p[2], st;
	pid_t pid;

	CHECK_EQ_INT(rng_bytes(parent, 1), 0);     /* seeded before fork */
	CHECK_EQ_INT(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		unsigned char c[32];
		if (rng_bytes(c, sizeof(c)) != 0 || write(p[1], c, sizeof(c)) != sizeof(c))
			_exit(1);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ_INT(rng_bytes(parent, sizeof(parent)), 0);
	CHECK_EQ_INT(read(p[0], child, sizeof(child)), sizeof(child));
	waitpid(pid, &st, 0);
	close(p[0]);
	close(p[1]);
	CHECK(memcmp(parent, child, sizeof(parent)) != 0);
}

static void
test_key_generate_pem_roundtrip(void)
{
	struct key_p256 k, k2;
	char *pem = NULL;
	size_t len = 0;

	CHECK_EQ_INT(key_generate(&k), 0);
	CHECK_EQ_INT(k.pub[0], 0x04);
	CHECK_EQ_INT(key_to_pem(&k, &pem, &len), 0);
	CHECK(strstr(pem, "-----BEGIN PRIVATE KEY-----") == pem);
	CHECK_EQ_INT(key_from_pem(&k2, pem, len), 0);
	CHECK(memcmp(k.priv, k2.priv, 32) == 0);
	CHECK(memcmp(k.pub, k2.pub, 65) == 0);
	CHECK(k2.sk.x == k2.priv && k2.pk.q == k2.pub);
	WIPE(pem, len);
	free(pem);
	key_wipe(&k);
	CHECK_EQ_INT(k.priv[0] | k.priv[31] | k.pub[0], 0);
}

/* RFC 6979 A.2.5 P-256 key: x and the public point's Ux. */
static const unsigned char rfc6979_x[32] = {
	0xC9, 0xAF, 0xA9, 0xD8, 0x45, 0xBA, 0x75, 0x16, 0x6B, 0x5C, 0x21, 0x57, 0x67, 0xB1, 0xD6, 0x93,
	0x4E, 0x50, 0xC3, 0xDB, 0x36, 0xE8, 0x9B, 0x12, 0x7B, 0x8A, 0x62, 0x2B, 0x12, 0x0F, 0x67, 0x21,
};
static const unsigned char rfc6979_ux[32] = {
	0x60, 0xFE, 0xD4, 0xBA, 0x25, 0x5A, 0x9D, 0x31, 0xC9, 0x61, 0xEB, 0x74, 0xC6, 0x35, 0x6D, 0x68,
	0xC0, 0x49, 0xB8, 0x92, 0x3B, 0x61, 0xFA, 0x6C, 0xE6, 0x69, 0x62, 0x2E, 0x60, 0xF2, 0x9F, 0xB6,
};

static void
test_key_from_scalar_known_answer(void)
{
	struct key_p256 k;

	CHECK_EQ_INT(key_from_scalar(&k, rfc6979_x, 32), 0);
	CHECK(memcmp(k.pub + 1, rfc6979_ux, 32) == 0);
}

static void
test_key_scalar_range(void)
{
	struct key_p256 k;
	unsigned char zero[32], n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};

	memset(zero, 0, sizeof(zero));
	CHECK_EQ_INT(key_from_scalar(&k, zero, 32), KEY_E_RANGE);
	CHECK_EQ_INT(key_from_scalar(&k, n, 32), KEY_E_RANGE);
	n[31] = 0x50;   /* n - 1 is valid */
	CHECK_EQ_INT(key_from_scalar(&k, n, 32), 0);
}

/* The RFC 6979 A.2.5 key as SEC1 PEM, written by `openssl ec` (which
 * computed the public point in it). */
static const char sec1_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIMmvqdhFunUWa1whV2ex1pNOUMPbNuibEnuKYisSD2choAoGCCqGSM49\n"
    "AwEHoUQDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8\n"
    "maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==\n"
    "-----END EC PRIVATE KEY-----\n";

static void
test_key_sec1_read(void)
{
	struct key_p256 k;

	CHECK_EQ_INT(key_from_pem(&k, sec1_pem, strlen(sec1_pem)), 0);
	CHECK(memcmp(k.priv, rfc6979_x, 32) == 0);
	CHECK(memcmp(k.pub + 1, rfc6979_ux, 32) == 0);
}

static void
test_key_rejects(void)
{
	struct key_p256 k;
	const char *cert = "-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n";
	const char *junk = "-----BEGIN PRIVATE KEY-----\nZm9v\n-----END PRIVATE KEY-----\n";

	CHECK_EQ_INT(key_from_pem(&k, cert, strlen(cert)), KEY_E_PEM);
	CHECK_EQ_INT(key_from_pem(&k, junk, strlen(junk)), KEY_E_FORMAT);
	CHECK_EQ_INT(key_from_pem(&k, "", 0), KEY_E_PEM);
}

static void
test_key_file_mode_0600(void)
{
	char dir[] = "/tmp/stavily-keytest.XXXXXX", path[64];
	struct key_p256 k, k2;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	CHECK_EQ_INT(key_generate(&k), 0);
	umask(0);       /* the mode must not depend on the umask */
	CHECK_EQ_INT(key_save_file(&k, path), 0);
	umask(022);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(key_load_file(&k2, path), 0);
	CHECK(memcmp(k.priv, k2.priv, 32) == 0);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	RUN(test_rng_distinct_and_nonzero);
	RUN(test_rng_bit_balance);
	RUN(test_rng_fork_does_not_replay);
	RUN(test_key_generate_pem_roundtrip);
	RUN(test_key_from_scalar_known_answer);
	RUN(test_key_scalar_range);
	RUN(test_key_sec1_read);
	RUN(test_key_rejects);
	RUN(test_key_file_mode_0600);
	return HARNESS_EXIT();
}
