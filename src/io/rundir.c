/* rundir.c: is server.run_dir usable (shared counters, journal), and making it at start */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "io/rundir.h"

#define TMPFS_MAGIC_ 0x01021994 /* linux/magic.h, not installed everywhere */
#define RAMFS_MAGIC_ 0x858458f6

/* The directory dir would be created in ("." for a bare name). */
static void
parent_of(const char *dir, char *out, size_t len)
{
	const char *slash;
	size_t n;

	snprintf(out, len, "%s", dir);
	/* "/run/tollgate/" is "/run/tollgate": trailing slashes name no level. */
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	if ((slash = strrchr(out, '/')) == NULL)
		snprintf(out, len, ".");
	else if (slash == out)
		out[1] = '\0';
	else
		out[slash - out] = '\0';
}

enum rundir_state
rundir_check(const char *dir, char *why, size_t len)
{
	char parent[PATH_MAX];
	struct stat st;
	unsigned uid = (unsigned)geteuid();

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, len, "%s is not a directory", dir);
			return RUNDIR_BAD;
		}
		if (access(dir, W_OK | X_OK) == 0)
			return RUNDIR_OK;
		snprintf(why, len, "%s is not writable by uid %u: %s", dir, uid,
		    strerror(errno));
		return RUNDIR_BAD;
	}
	if (errno != ENOENT) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return RUNDIR_BAD;
	}
	parent_of(dir, parent, sizeof(parent));
	if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(parent, W_OK | X_OK) == 0) {
		snprintf(why, len,
		    "%s does not exist; tollgate creates it (mode 0700) at "
		    "start",
		    dir);
		return RUNDIR_ABSENT;
	}
	snprintf(why, len,
	    "%s does not exist, and uid %u cannot create it in %s: create "
	    "it for the user tollgate runs as, or set [server] run_dir to a "
	    "directory of that user",
	    dir, uid, parent);
	return RUNDIR_BAD;
}

int
rundir_make(const char *dir, char *why, size_t len)
{
	switch (rundir_check(dir, why, len)) {
	case RUNDIR_OK:
		return 0;
	case RUNDIR_ABSENT:
		/* 0700: the shared files are the node's own (README, shared hosting). */
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			return rundir_check(dir, why, len) == RUNDIR_OK ? 0
									: -1;
		snprintf(
		    why, len, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	case RUNDIR_BAD:
	default:
		return -1;
	}
}

int
rundir_volatile(const char *dir)
{
	struct statfs fs;

	if (statfs(dir, &fs) == -1)
		return 0;
	return (unsigned long)fs.f_type == TMPFS_MAGIC_ ||
	    (unsigned long)fs.f_type == RAMFS_MAGIC_;
}
