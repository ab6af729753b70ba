/*
 * tmpdir.h: the scratch directory of a unit test suite, made once before
 * its tests and removed after them, even when one fails.
 */
#ifndef GILLY_TMPDIR_H
#define GILLY_TMPDIR_H

#include <stddef.h>

/*
 * Make $TMPDIR/NAME.XXXXXX (/tmp when TMPDIR is unset or long) into dir,
 * which holds size bytes; exits the suite if it cannot.
 */
void	tmpdir_make(const char *name, char *dir, size_t size);

/* Remove dir and everything in it. */
void	tmpdir_remove(const char *dir);

#endif
