/* tmpdir.c: a unit test suite's scratch directory. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdir.h"

void
tmpdir_make(const char *name, char *dir, size_t size)
{
	const char	*tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/%s.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp",
	    name);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(EXIT_FAILURE);
	}
}

void
tmpdir_remove(const char *dir)
{
	char	*cmd;

	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
}
