/*
 * config_impl.h: the whole `struct config`, for the config subsystem itself
 * and for code that prefers fields to accessors.  Everything is owned by the
 * struct and freed by config_free().
 */
#ifndef STAVILY_CONFIG_CONFIG_IMPL_H
#define STAVILY_CONFIG_CONFIG_IMPL_H

#include "config/config.h"

struct config {
	char *path;                                    /* file it was loaded from, NULL = defaults */
	struct config_authentication authentication;   /* authentication_methods.agents */
	struct config_agent_auth agent_auth;           /* security.agent_auth */
	struct config_sandbox sandbox;                 /* sandbox */
	struct config_sandbox sensor_sandbox;          /* sensor.sandbox */
	struct config_transit transit;                 /* encryption_in_transit.agent_communication */
	struct config_detection detection;             /* detection_rules */
	struct config_logging logging;
	struct config_agent agent;
	struct config_orchestrator orchestrator;
	struct config_privacy privacy;
};

/* Most errors one load collects; past it a final "too many errors" entry. */
#define CONFIG_MAX_ERRORS 200

/* Append "FILE:LINE: message" (file NULL = "--set" with line 0). */
void config_errors_add(struct config_errors *errs, const char *file, int line,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

#endif
