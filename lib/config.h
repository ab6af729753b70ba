/*
 * config.h: loading the YAML mirror table (libyaml document API).
 *
 * Owns the file format: a "mirrors" mapping of source to target (or null)
 * and an optional "exclude: namespaces:" list. Every error carries
 * FILE:LINE:COLUMN (1-based) of the node at fault.
 */
#ifndef GILLY_CONFIG_H
#define GILLY_CONFIG_H

#include "common.h"

#include <stddef.h>

#include "mirror.h"

/* The table's path when neither -c nor $GILLY_CONFIG names one. */
#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/gilly.yaml"

/*
 * new: *out, caller frees with mirror_free(). On error returns -1 and sets
 * *cause to "FILE:LINE:COLUMN: message" (caller frees).
 */
int	config_load_file(const char *path, struct mirror **out, char **cause);

/* The same over len bytes in memory; name stands for FILE in messages. */
int	config_load_buffer(const char *name, const char *buf, size_t len,
	    struct mirror **out, char **cause);

#endif
