/*
 * t_refcorpus.c: imageref against a corpus of references whose normalized
 * form (or invalidity) follows github.com/distribution/reference.
 * tests/data/references.tsv: "input<TAB>expected" or "input<TAB>!".
 */
#include "common.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"

static char *
corpus_path(void)
{
	const char	*srcdir = getenv("SRCDIR");

	return (xasprintf("%s/tests/data/references.tsv",
	    srcdir != NULL ? srcdir : "."));
}

START_TEST(test_corpus)
{
	struct imageref	*ref;
	char		*path, *line = NULL, *tab, *got, *cause;
	size_t		 cap = 0, rows = 0, bad = 0;
	ssize_t		 n;
	FILE		*f;

	path = corpus_path();
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#' || (tab = strchr(line, '\t')) == NULL)
			continue;
		*tab++ = '\0';
		rows++;
		ref = NULL;
		cause = NULL;
		if (imageref_parse(line, strlen(line), &ref, &cause) == 0) {
			got = imageref_format(ref);
			if (strcmp(got, tab) != 0) {
				fprintf(stderr, "%s: got %s, expected %s\n",
				    line, got, tab);
				bad++;
			}
			free(got);
			imageref_free(ref);
		} else {
			if (strcmp(tab, "!") != 0) {
				fprintf(stderr, "%s: refused (%s), expected "
				    "%s\n", line, cause, tab);
				bad++;
			} else if (cause == NULL || *cause == '\0') {
				fprintf(stderr, "%s: refused without a reason\n",
				    line);
				bad++;
			}
			free(cause);
		}
	}
	free(line);
	fclose(f);
	free(path);
	ck_assert_uint_ge(rows, 2000);
	ck_assert_msg(bad == 0, "%zu of %zu references disagree", bad, rows);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("refcorpus");
	TCase	*tc = tcase_create("corpus");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_corpus);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
