/* cli.c: the subcommands and the review mode of gilly on the command line. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "cli.h"
#include "config.h"
#include "imageref.h"
#include "mirror.h"

/*
 * Flush stdout: rc, or CLI_FAIL (said on stderr) if what was printed did
 * not all reach it (a full disk, a closed pipe).
 */
static int
flush_output(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gilly: writing output: %s\n", strerror(errno));
		return (CLI_FAIL);
	}
	return (rc);
}

int
cli_normalize(int n, char **images)
{
	struct imageref	*ref;
	char		*cause, *s;
	int		 i, rc = CLI_OK;

	for (i = 0; i < n; i++) {
		cause = NULL;
		if (imageref_parse(images[i], strlen(images[i]), &ref,
		    &cause) != 0) {
			fprintf(stderr, "gilly: invalid reference \"%s\": %s\n",
			    images[i], cause != NULL ? cause : "invalid");
			free(cause);
			rc = CLI_FAIL;
			continue;
		}
		s = imageref_format(ref);
		printf("%s\n", s);
		free(s);
		imageref_free(ref);
	}
	return (flush_output(rc));
}

int
cli_rewrite(const struct mirror *table, int n, char **images)
{
	char	*out, *cause;
	int	 i, rc = CLI_OK;

	for (i = 0; i < n; i++) {
		out = cause = NULL;
		switch (mirror_rewrite(table, images[i], strlen(images[i]),
		    &out, NULL, &cause)) {
		case MIRROR_REWRITTEN:
			printf("%s\n", out);
			break;
		case MIRROR_INVALID:
			/* The webhook leaves it as it is: so does this line. */
			fprintf(stderr, "gilly: invalid reference \"%s\": %s\n",
			    images[i], cause != NULL ? cause : "invalid");
			printf("%s\n", images[i]);
			rc = CLI_FAIL;
			break;
		case MIRROR_REFUSED:
			fprintf(stderr, "gilly: \"%s\" left unchanged: %s\n",
			    images[i], cause != NULL ? cause : "refused");
			printf("%s\n", images[i]);
			rc = CLI_FAIL;
			break;
		default:
			printf("%s\n", images[i]);
			break;
		}
		free(out);
		free(cause);
	}
	return (flush_output(rc));
}

int
cli_load_table(const char *path, struct mirror **out)
{
	char	*cause = NULL;

	if (config_load_file(path, out, &cause) != 0) {
		/* cause is "FILE:LINE:COLUMN: message", as editors expect. */
		fprintf(stderr, "%s\n", cause != NULL ? cause : path);
		free(cause);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

int
cli_check_config(const char *path)
{
	struct mirror	*table = NULL;
	size_t		 n;

	if (cli_load_table(path, &table) != CLI_OK)
		return (CLI_FAIL);
	n = mirror_rule_count(table);
	printf("%s: %zu rule%s\n", path, n, n == 1 ? "" : "s");
	mirror_free(table);
	return (flush_output(CLI_OK));
}

/*
 * Read fp whole, but no more than max + 1 bytes: enough to tell a body too
 * large without holding an endless stream. new: *buf, caller frees.
 */
static int
read_all(FILE *fp, size_t max, char **buf, size_t *len)
{
	char	*p = NULL;
	size_t	 size = 0, n = 0, got;

	for (;;) {
		if (n == size) {
			if (size > max)
				break;
			size = size == 0 ? 16384 : size * 2;
			if (size > max + 1)
				size = max + 1;
			p = xrealloc(p, size);
		}
		got = fread(p + n, 1, size - n, fp);
		n += got;
		if (got == 0 || n > max)
			break;
	}
	if (ferror(fp)) {
		free(p);
		return (-1);
	}
	*buf = p;
	*len = n;
	return (0);
}

int
cli_review(const struct mirror *table, const char *path)
{
	struct admission_result	 res;
	FILE			*fp;
	char			*body = NULL;
	size_t			 len = 0;
	int			 rc = CLI_FAIL;

	if (path == NULL)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "gilly: %s: %s\n", path, strerror(errno));
		return (CLI_FAIL);
	}
	if (read_all(fp, ADMISSION_BODY_MAX, &body, &len) != 0) {
		fprintf(stderr, "gilly: reading %s: %s\n",
		    path != NULL ? path : "stdin", strerror(errno));
		goto end;
	}
	if (admission_review(table, body, len, &res) != 0) {
		fprintf(stderr, "gilly: %s\n", res.error);
		rc = CLI_BAD_INPUT;
	} else {
		fwrite(res.body, 1, res.body_len, stdout);
		fputc('\n', stdout);
		rc = flush_output(CLI_OK);
	}
	admission_result_free(&res);
end:
	free(body);
	if (fp != stdin)
		fclose(fp);
	return (rc);
}
