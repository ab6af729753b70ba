/*
 * replay.c: run saved inputs through a fuzz target without libFuzzer.
 *
 *	replay_TARGET [FILE | DIRECTORY]...
 *
 * Without arguments (as make check runs it) the inputs are those of
 * $SRCDIR/tests/fuzz/corpus/TARGET, which must hold at least one, and of
 * $SRCDIR/tests/fuzz/regressions/TARGET, every input that once crashed the
 * target. A broken property aborts, which fails the test.
 */
#include "common.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Replay one file. Returns -1 with a message if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE	*f;
	char	*buf = NULL, *exact;
	size_t	 len = 0, size = 0, n;
	int	 rv = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (len == size) {
			size = size == 0 ? 4096 : size * 2;
			buf = xrealloc(buf, size);
		}
		if ((n = fread(buf + len, 1, size - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto end;
	}
	/* Exactly len bytes, as libFuzzer gives them: ASan sees overreads. */
	exact = xmalloc(len);
	memcpy(exact, buf, len);
	LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
	free(exact);
	rv = 0;
end:
	fclose(f);
	free(buf);
	return (rv);
}

static int
compare_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Replay a file, or every file of a directory (but dot files) in name
 * order. Adds to *count the inputs replayed; returns -1 on a read error.
 */
static int
replay_path(const char *path, size_t *count)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL, *file;
	size_t		 n = 0, i;
	int		 rv = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) != 0)
			return (-1);
		(*count)++;
		return (0);
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, compare_names);
	for (i = 0; i < n; i++) {
		file = xasprintf("%s/%s", path, names[i]);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(file) != 0)
				rv = -1;
			else
				(*count)++;
		}
		free(file);
		free(names[i]);
	}
	free(names);
	return (rv);
}

int
main(int argc, char **argv)
{
	const char	*srcdir;
	char		*corpus = NULL, *regressions = NULL;
	size_t		 count = 0, before;
	int		 i, rv = 1;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) != 0)
				goto end;
	} else {
		if ((srcdir = getenv("SRCDIR")) == NULL || *srcdir == '\0') {
			fprintf(stderr, "usage: %s [file | directory]...\n"
			    "(without arguments, $SRCDIR must name the source "
			    "tree)\n", argv[0]);
			rv = 99;
			goto end;
		}
		corpus = xasprintf("%s/tests/fuzz/corpus/%s", srcdir,
		    fuzz_target_name);
		regressions = xasprintf("%s/tests/fuzz/regressions/%s", srcdir,
		    fuzz_target_name);
		if (replay_path(corpus, &count) != 0)
			goto end;
		if (count == 0) {
			fprintf(stderr, "replay: %s: no input\n", corpus);
			goto end;
		}
		before = count;
		if (replay_path(regressions, &count) != 0)
			goto end;
		printf("%s: %zu corpus inputs, %zu regression inputs\n",
		    fuzz_target_name, before, count - before);
	}
	printf("%s: %zu inputs replayed, no property violated\n",
	    fuzz_target_name, count);
	rv = 0;
end:
	free(corpus);
	free(regressions);
	return (rv);
}
