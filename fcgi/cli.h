/*
 * cli.h: gilly on the command line.
 *
 * Owns the subcommands (normalize, rewrite, check-config) and the review
 * mode: an AdmissionReview from a file or stdin, the response on stdout.
 * Each function returns the process's exit status:
 *	0	done
 *	1	an invalid reference (normalize, rewrite), a table or file that
 *		could not be read, a write error
 *	2	a review refused as bad input (the reason on stderr)
 */
#ifndef GILLY_CLI_H
#define GILLY_CLI_H

#include "common.h"

#include "mirror.h"

/* Exit statuses. */
#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_BAD_INPUT	2

/* Print the fully qualified form of each of the n images. */
int	cli_normalize(int n, char **images);

/* borrowed: the table. Print the image the webhook would produce for each. */
int	cli_rewrite(const struct mirror *, int n, char **images);

/* Load the table at path: say how many rules it holds, or where it is wrong. */
int	cli_check_config(const char *path);

/*
 * new: *out, caller frees with mirror_free(). Load the table at path; on
 * error print the positioned message on stderr and return CLI_FAIL.
 */
int	cli_load_table(const char *path, struct mirror **out);

/* Answer the review in the file at path (NULL: stdin) on stdout. */
int	cli_review(const struct mirror *, const char *path);

#endif
