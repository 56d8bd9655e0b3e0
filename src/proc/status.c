/* status.c: `tollgate status`, the master's record read from the metrics file */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "core/conf.h"
#include "core/util.h"
#include "domain/metrics.h"
#include "proc/status.h"

#define ST_RUNNING 0
#define ST_STOPPED 3 /* LSB: program is not running */
#define ST_UNKNOWN 4 /* LSB: status unknown */

static int
alive(int64_t pid)
{
	return util_pid_alive((int)pid);
}

static void
iso(double wall, char out[32])
{
	time_t t = (time_t)wall;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
print_json(const struct conf *c, const struct metrics_snap *s, int running)
{
	char since[32] = "";
	json_t *o;
	char *txt;

	if (running)
		iso(s->m.started, since);
	o = json_pack(
	    "{s:b, s:s, s:I, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "running", running, "run_dir", c->run_dir, "pid",
	    (json_int_t)(running ? s->m.pid : 0), "started",
	    running ? since : NULL, "uptime_s",
	    (json_int_t)(running ? util_wall() - s->m.started : 0),
	    "generation", (json_int_t)s->m.generation, "workers",
	    (json_int_t)(running ? s->m.workers : 0), "slots",
	    (json_int_t)(running ? s->m.slots : 0), "slots_busy",
	    (json_int_t)s->busy, "requests_served", (json_int_t)s->served,
	    "worker_restarts", (json_int_t)s->m.restarts);
	if (o == NULL || (txt = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return ST_UNKNOWN;
	}
	printf("%s\n", txt);
	free(txt);
	json_decref(o);
	return running ? ST_RUNNING : ST_STOPPED;
}

static int
print_text(const struct conf *c, const struct metrics_snap *s, int running)
{
	char since[32];
	long long up;

	if (!running) {
		printf("tollgate is not running (run_dir %s)\n", c->run_dir);
		return ST_STOPPED;
	}
	iso(s->m.started, since);
	up = (long long)(util_wall() - s->m.started);
	printf("tollgate is running: master pid %lld (run_dir %s)\n"
	       "  up since        %s (%lldd %02lld:%02lld:%02lld)\n"
	       "  generation      %llu\n"
	       "  workers         %llu\n"
	       "  slots busy      %llu of %llu\n"
	       "  requests served %llu\n"
	       "  worker restarts %llu\n",
	    (long long)s->m.pid, c->run_dir, since, up / 86400,
	    up % 86400 / 3600, up % 3600 / 60, up % 60,
	    (unsigned long long)s->m.generation,
	    (unsigned long long)s->m.workers, (unsigned long long)s->busy,
	    (unsigned long long)s->m.slots, (unsigned long long)s->served,
	    (unsigned long long)s->m.restarts);
	return ST_RUNNING;
}

int
cli_status(const struct conf *c, int argc, char **argv)
{
	struct metrics_snap *s;
	char path[4200];
	struct stat st;
	int json = 0, running, rc;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fprintf(stderr, "usage: tollgate status [--json]\n");
		return 2;
	}
	json = argc == 1;
	if (c->run_dir == NULL) {
		fprintf(stderr, "tollgate: no [server] run_dir\n");
		return ST_UNKNOWN;
	}
	/* No file: no master ever ran here; do not make one. */
	snprintf(path, sizeof(path), "%s/tollgate-metrics.shm", c->run_dir);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ST_UNKNOWN;
	if (stat(path, &st) == -1 && errno == ENOENT) {
		rc = json ? print_json(c, s, 0) : print_text(c, s, 0);
		free(s);
		return rc;
	}
	if (metrics_open(c->run_dir) == -1) {
		free(s);
		fprintf(stderr, "tollgate: cannot read %s\n", path);
		return ST_UNKNOWN;
	}
	metrics_snapshot(s);
	running = alive(s->m.pid);
	rc = json ? print_json(c, s, running) : print_text(c, s, running);
	free(s);
	return rc;
}
