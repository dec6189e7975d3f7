/*
 * test_agent_detect.c: agent-side detection rules with an injected clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/detect.h"
#include "harness.h"

static char last[512];
static int raised;
static int last_sev;

static void
on_raise(void *ctx, const char *event, int sev, cJSON *details)
{
	char *t = cJSON_PrintUnformatted(details);

	snprintf(last, sizeof(last), "%s %s", event, t ? t : "?");
	free(t);
	cJSON_Delete(details);
	raised++;
	last_sev = sev;
}

static struct detect d;

static void
test_tls_failures_threshold_and_window(void)
{
	raised = 0;
	detect_init(&d, on_raise, NULL);
	CHECK_EQ_INT(detect_set_rule(&d, DETECT_TLS_HANDSHAKE_FAILED, true, 3, 10000), 0);
	CHECK(!detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 1000, "BR_ERR_X509_BAD_SERVER_NAME"));
	CHECK(!detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 2000, NULL));
	/* the first one slides out of the window before the third arrives */
	CHECK(!detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 11000, NULL));
	CHECK_EQ_INT(raised, 0);
	CHECK_EQ_INT(detect_count(&d, DETECT_TLS_HANDSHAKE_FAILED, 11000), 2);
	CHECK(detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 11500, "BR_ERR_BAD_MAC"));
	CHECK_EQ_INT(raised, 1);
	CHECK_EQ_STR(last, "tls_handshake_failed {\"count\":3,\"threshold\":3,\"window_ms\":10000,\"last_error\":\"BR_ERR_BAD_MAC\"}");
	/* a storm: one event per window */
	for (int i = 0; i < 50; i++)
		(void)detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 12000 + (uint64_t)i * 100, NULL);
	CHECK_EQ_INT(raised, 1);
	CHECK(detect_record(&d, DETECT_TLS_HANDSHAKE_FAILED, 21500, NULL));
	CHECK_EQ_INT(raised, 2);
	/* quiet period: counts drop to zero */
	CHECK_EQ_INT(detect_count(&d, DETECT_TLS_HANDSHAKE_FAILED, 100000), 0);
}

static void
test_other_rules(void)
{
	int i;

	raised = 0;
	detect_init(&d, on_raise, NULL);
	/* validation failures: every one is a pattern by default (threshold 1) */
	CHECK(detect_record(&d, DETECT_CERT_VALIDATION_FAILED, 5, "pin mismatch"));
	CHECK_EQ_INT(last_sev, 2);
	CHECK(strncmp(last, "certificate_validation_failed ", 30) == 0);
	/* timeouts: 3 in 5 minutes */
	CHECK(!detect_record(&d, DETECT_CONNECTION_TIMEOUT, 0, NULL));
	CHECK(!detect_record(&d, DETECT_CONNECTION_TIMEOUT, 100000, NULL));
	CHECK(detect_record(&d, DETECT_CONNECTION_TIMEOUT, 299999, NULL));
	CHECK(strncmp(last, "connection_timeout_pattern ", 27) == 0);
	/* reconnect storm: 10 in a minute */
	for (i = 0; i < 9; i++)
		CHECK(!detect_record(&d, DETECT_RECONNECT, 1000 + (uint64_t)i, NULL));
	CHECK(detect_record(&d, DETECT_RECONNECT, 1010, NULL));
	CHECK(strstr(last, "unusual_connection_pattern") == last && strstr(last, "reconnect_storm") != NULL);
	/* disabled rule: silent */
	CHECK_EQ_INT(detect_set_rule(&d, DETECT_RECONNECT, false, 1, 1000), 0);
	CHECK(!detect_record(&d, DETECT_RECONNECT, 999999, NULL));
	/* invalid configuration */
	CHECK(detect_set_rule(&d, DETECT_RECONNECT, true, 0, 1000) != 0);
	CHECK(detect_set_rule(&d, DETECT_RECONNECT, true, DETECT_MAX_THRESHOLD + 1, 1000) != 0);
	CHECK(detect_set_rule(&d, DETECT_RECONNECT, true, 5, 0) != 0);
	CHECK(detect_set_rule(&d, DETECT_KIND_COUNT, true, 5, 10) != 0);
	/* a huge burst at the maximum threshold does not overflow the ring */
	CHECK_EQ_INT(detect_set_rule(&d, DETECT_RECONNECT, true, DETECT_MAX_THRESHOLD, 1000000), 0);
	raised = 0;
	for (i = 0; i < 3 * DETECT_MAX_THRESHOLD; i++)
		(void)detect_record(&d, DETECT_RECONNECT, 5000, NULL);
	CHECK_EQ_INT(raised, 1);
	CHECK_EQ_INT(detect_count(&d, DETECT_RECONNECT, 5000), DETECT_MAX_THRESHOLD);
}

static void
test_cert_expiring(void)
{
	const int64_t day = 86400, na = 1000 * day;
	int64_t t;
	int seen[5], n = 0;

	raised = 0;
	detect_init(&d, on_raise, NULL);
	/* walk day by day (and hour by hour on the way) from 90 days out */
	for (t = na - 90 * day; t <= na + day; t += 3600) {
		int th = detect_cert_expiry(&d, na, t);
		if (th != 0 && n < 5)
			seen[n++] = th;
	}
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_INT(raised, 5);
	CHECK(n == 5 && seen[0] == 30 && seen[1] == 14 && seen[2] == 7 && seen[3] == 3 && seen[4] == 1);
	/* raised as soon as fewer than 31 full days remain (days rounded down) */
	detect_init(&d, on_raise, NULL);
	CHECK_EQ_INT(detect_cert_expiry(&d, na, na - 31 * day), 0);
	CHECK_EQ_INT(detect_cert_expiry(&d, na, na - 31 * day + 1), 30);
	CHECK_EQ_STR(last, "certificate_expiring {\"days_remaining\":30,\"threshold_days\":30,\"not_after\":86400000}");
	CHECK_EQ_INT(detect_cert_expiry(&d, na, na - 29 * day), 0);   /* once only */
	/* jump from 20 to 2 days: one event, for 3 */
	raised = 0;
	CHECK_EQ_INT(detect_cert_expiry(&d, na, na - 2 * day), 3);
	CHECK_EQ_INT(raised, 1);
	CHECK_EQ_INT(last_sev, 2);
	/* renewal (new notAfter) re-arms */
	CHECK_EQ_INT(detect_cert_expiry(&d, na + 90 * day, na - 2 * day), 0);
	CHECK_EQ_INT(detect_cert_expiry(&d, na + 90 * day, na + 60 * day), 30);
	/* expired: negative days, the 1-day threshold fires if not yet */
	detect_init(&d, on_raise, NULL);
	CHECK_EQ_INT(detect_cert_expiry(&d, na, na + 1), 1);
	CHECK(strstr(last, "\"days_remaining\":-1") != NULL);
}

int
main(void)
{
	RUN(test_tls_failures_threshold_and_window);
	RUN(test_other_rules);
	RUN(test_cert_expiring);
	return HARNESS_EXIT();
}
