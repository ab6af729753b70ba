/*
 * main.c: gilly, the program. Picks what to be from the arguments and from
 * what it was started on:
 *	gilly normalize|rewrite|check-config ...	a subcommand
 *	gilly [-c FILE] REVIEW.json			the CLI, on that file
 *	fd 0 a listening socket				a FastCGI responder
 *	GATEWAY_INTERFACE set				a CGI program
 *	otherwise					the CLI, on stdin
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not fcgi_stdio.h: it would replace stdio throughout. */
#include <fcgiapp.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "mirror.h"
#include "serve.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: gilly [-hV] [-c FILE] [REVIEW.json | -]\n"
	    "       gilly normalize IMAGE...\n"
	    "       gilly rewrite [-c FILE] IMAGE...\n"
	    "       gilly check-config [FILE]\n"
	    "\n"
	    "With no command, gilly answers the AdmissionReview in REVIEW.json\n"
	    "(or on stdin) on stdout; spawned by a FastCGI server it serves\n"
	    "POST /mutate, GET /healthz and GET /metrics, and reloads the table\n"
	    "when its file changes. The metrics file shared by the workers is\n"
	    "$GILLY_METRICS_FILE, else next to their socket; their last good\n"
	    "table is kept beside it, its \".metrics\" replaced by \".table\".\n"
	    "The mirror table\n"
	    "is -c FILE, else $GILLY_CONFIG, else %s.\n", CONFIG_DEFAULT_PATH);
}

/* borrowed: the table's path: -c FILE, else $GILLY_CONFIG, else the default. */
static const char *
config_path(const char *opt)
{
	const char	*env;

	if (opt != NULL)
		return (opt);
	if ((env = getenv("GILLY_CONFIG")) != NULL && *env != '\0')
		return (env);
	return (CONFIG_DEFAULT_PATH);
}

/* gilly rewrite [-c FILE] IMAGE... */
static int
cmd_rewrite(int argc, char **argv, const char *cfile)
{
	struct mirror	*table = NULL;
	int		 ch, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		default:
			usage(stderr);
			return (CLI_FAIL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return (CLI_FAIL);
	}
	if (cli_load_table(config_path(cfile), &table) != CLI_OK)
		return (CLI_FAIL);
	rc = cli_rewrite(table, argc, argv);
	mirror_free(table);
	return (rc);
}

/* Load the table for a CGI request; logs why it cannot. */
static struct mirror *
load_for_serving(const char *path)
{
	struct mirror	*table = NULL;
	char		*cause = NULL;

	if (config_load_file(path, &table, &cause) != 0) {
		log_line("[Config] %s", cause != NULL ? cause : path);
		free(cause);
		return (NULL);
	}
	return (table);
}

int
main(int argc, char **argv)
{
	struct mirror	*table = NULL;
	const char	*cfile = NULL, *cmd;
	int		 ch, rc, loaded;

	/* "+": stop at the first operand, which may be a command. */
	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return (CLI_OK);
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return (CLI_OK);
		default:
			usage(stderr);
			return (CLI_FAIL);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc > 0) {
		cmd = argv[0];
		if (strcmp(cmd, "normalize") == 0) {
			if (argc < 2) {
				usage(stderr);
				return (CLI_FAIL);
			}
			return (cli_normalize(argc - 1, argv + 1));
		}
		if (strcmp(cmd, "rewrite") == 0)
			return (cmd_rewrite(argc, argv, cfile));
		if (strcmp(cmd, "check-config") == 0) {
			if (argc > 2) {
				usage(stderr);
				return (CLI_FAIL);
			}
			return (cli_check_config(argc == 2 ? argv[1] :
			    config_path(cfile)));
		}
		if (argc > 1) {
			usage(stderr);
			return (CLI_FAIL);
		}
		/* A review file: the CLI, whatever fd 0 is. */
		if (cli_load_table(config_path(cfile), &table) != CLI_OK)
			return (CLI_FAIL);
		rc = cli_review(table, strcmp(argv[0], "-") == 0 ? NULL :
		    argv[0]);
		mirror_free(table);
		return (rc);
	}

	/*
	 * FCGX_IsCGI() is false when fd 0 is a listening socket, as a FastCGI
	 * server hands its children (lighttpd, cgi-fcgi -start). libfcgi's
	 * FCGX_Accept_r() has no CGI fallback, so CGI is told apart here.
	 */
	if (!FCGX_IsCGI()) {
		/*
		 * Never stdout here: it is the server's, not a response. The
		 * worker loads the table itself, and reloads it on a change.
		 */
		return (serve_fcgi(config_path(cfile)) == 0 ? CLI_OK :
		    CLI_FAIL);
	}
	if (getenv("GATEWAY_INTERFACE") != NULL) {
		/* A CGI request is answered even without a table: 503. */
		table = load_for_serving(config_path(cfile));
		loaded = table != NULL;
		rc = serve_cgi(table);
		return (loaded ? rc : CLI_FAIL);
	}
	if (cli_load_table(config_path(cfile), &table) != CLI_OK)
		return (CLI_FAIL);
	rc = cli_review(table, NULL);
	mirror_free(table);
	return (rc);
}
