/* replay_main.c: runs a fuzz target's LLVMFuzzerTestOneInput on every file of its corpus */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Corpus files are small seeds and minimised finds; a larger one is a mistake. */
#define REPLAY_MAX_FILE (1u << 20)

static int
replay_file(const char *path)
{
	FILE *fp;
	uint8_t *data;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* One byte more than the cap, so an oversized file is noticed. */
	if ((data = malloc(REPLAY_MAX_FILE + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(data, 1, REPLAY_MAX_FILE + 1, fp);
	fclose(fp);
	if (n > REPLAY_MAX_FILE) {
		fprintf(stderr, "replay: %s is over %u bytes\n", path,
		    REPLAY_MAX_FILE);
		free(data);
		return -1;
	}
	/* An exact-size copy, so ASan sees a read past the input's end. */
	data = realloc(data, n > 0 ? n : 1);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the count, or -1. */
static int
replay_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL, path[4096], **grown;
	size_t n = 0, i;
	struct stat st;
	int count = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			break;
		names = grown;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) == -1)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

/*
 * With no arguments (as make check runs it) the corpus is
 * $TOLLGATE_SRCDIR/tests/fuzz/corpus/NAME for a program named fuzz_NAME;
 * otherwise each argument is a corpus directory or one input file.
 */
int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/'), *top;
	char dir[4096];
	struct stat st;
	int i, n, total = 0;

	base = base != NULL ? base + 1 : argv[0];
	if (strncmp(base, "lt-", 3) == 0)
		base += 3;
	if (strncmp(base, "fuzz_", 5) == 0)
		base += 5;
	if (argc < 2) {
		top = getenv("TOLLGATE_SRCDIR");
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		    top != NULL ? top : ".", base);
		n = replay_dir(dir);
		if (n <= 0) {
			fprintf(stderr, "replay: no inputs in %s\n", dir);
			return 1;
		}
		printf("replay %s: %d inputs, no invariant failed\n", base, n);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replay %s: %d inputs, no invariant failed\n", base, total);
	return 0;
}
