/* fuzz_conf.c: the config parser on arbitrary file contents */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/conf.h"
#include "prov/params.h"

static int fd = -1;
static char path[64];

struct errs {
	unsigned n;
};

static void
on_error(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs *e = arg;

	FUZZ_CHECK(file != NULL && msg != NULL && msg[0] != '\0');
	e->n++;
}

/* What a loaded config holds is within the bounds of its key table. */
static void
check_conf(const struct conf *c)
{
	unsigned i;

	FUZZ_CHECK(c->workers >= 1 && c->workers <= 256);
	FUZZ_CHECK(c->threads >= 1 && c->threads <= 256);
	FUZZ_CHECK(c->max_json_depth >= 2 && c->max_json_depth <= 1024);
	FUZZ_CHECK(c->max_body >= 1024 && c->max_body <= (1ull << 30));
	FUZZ_CHECK(c->commission_bp <= 10000);
	FUZZ_CHECK(c->ngroups <= CONF_MAX_GROUPS);
	FUZZ_CHECK(c->nlimit_groups <= CONF_MAX_GROUPS);
	FUZZ_CHECK(c->ncors_origins <= CONF_MAX_ORIGINS);
	FUZZ_CHECK(c->nallow_params <= PARAMS_MAX_ALLOW);
	FUZZ_CHECK(c->lease_nano >= 0);
	FUZZ_CHECK(c->listen != NULL && c->mount_prefix != NULL);
	FUZZ_CHECK(c->mount_prefix[0] == '\0' ||
	    (c->mount_prefix[0] == '/' &&
		c->mount_prefix[strlen(c->mount_prefix) - 1] != '/'));
	for (i = 0; i < c->ngroups; i++) {
		FUZZ_CHECK(c->group_bp[i] <= 10000);
		FUZZ_CHECK(conf_group_commission(c, c->group_names[i]) ==
		    c->group_bp[i]);
	}
	for (i = 0; i < c->nlimit_groups; i++)
		FUZZ_CHECK(
		    conf_group_limits(c, c->limit_group_names[i]) != NULL);
	FUZZ_CHECK(conf_group_limits(c, "no such group") != NULL);
	(void)conf_origin_allowed(c, "https://app.example.com");
	(void)conf_origin_allowed(c, NULL);
}

/*
 * conf_load reads a path; a memfd is a file that costs no disk and needs
 * no cleanup.  Inputs naming db.password_file are skipped: that key opens
 * the file it names, which could be anything on the machine (a tty would
 * block the run), and test_conf covers it.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errs e = {0};
	struct conf *c;

	if (memmem(data, size, "password_file", 13) != NULL)
		return 0;
	if (fd == -1) {
		conf_set_allow_parser(params_allow_parse);
		if ((fd = memfd_create("fuzz_conf", 0)) == -1)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	c = conf_load(path, on_error, &e);
	FUZZ_CHECK((c == NULL) == (e.n > 0));
	if (c != NULL)
		check_conf(c);
	conf_free(c);
	return 0;
}
