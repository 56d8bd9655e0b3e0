/* log.h: error log and access log, one write(2) per line, reopened on SIGUSR1 */
/* SPDX-License-Identifier: MIT */
#ifndef LOG_H
#define LOG_H

#include "core/tollgate.h"

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern volatile int log_level_now;

/*
 * Open the error log (path NULL = stderr) and the access log (NULL = the
 * error log, "off" = none).  Returns 0 or -1 with errno set; the previous
 * destinations stay in place on failure.
 */
int log_open(const char *path, const char *access_path, enum log_level);
/* Reopen the same files (SIGUSR1); dup2 keeps the swap atomic for threads. */
int log_reopen(void);
/* Tag every line with this process name ("master", "worker", ...). */
void log_set_role(const char *);
void log_msg_(enum log_level, const char *, ...) TG_PRINTF(2, 3);
/* Like log_msg, with ": strerror(errno)" appended. */
void log_sys_(enum log_level, const char *, ...) TG_PRINTF(2, 3);
/* One access-log line; fields are escaped.  NULL fields are "-" or null. */
struct log_access_rec {
	const char *method, *path; /* the path without its query */
	const char *reqid, *client_reqid;
	const char *user, *key, *model; /* public ids; NULL unknown */
	int status;
	unsigned long long bytes;
	double secs;
	int64_t cost; /* nano-USD charged; -1 none */
};
void log_access(const struct log_access_rec *);
/* issue 19: obs: one JSON object per line (access and error logs). */
void log_set_json(int on);
/* Parse "error|warn|info|debug"; -1 when unknown. */
int log_level_parse(const char *);

#define log_msg(lvl, ...)                                                      \
	do {                                                                   \
		if ((int)(lvl) <= log_level_now)                               \
			log_msg_((lvl), __VA_ARGS__);                          \
	} while (0)
#define log_sys(lvl, ...)                                                      \
	do {                                                                   \
		if ((int)(lvl) <= log_level_now)                               \
			log_sys_((lvl), __VA_ARGS__);                          \
	} while (0)

#endif
