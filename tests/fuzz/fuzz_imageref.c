/*
 * fuzz_imageref.c: the image reference parser on arbitrary bytes.
 *
 * Properties (lib/imageref.h): a refused reference comes with a reason and
 * leaves *out alone; an embedded NUL is refused; an accepted one has
 * consistent lengths, a repository path of 1 to IMAGEREF_PATH_MAX bytes, and
 * its tag and digest are the input's bytes. The round trip: the formatted
 * (fully qualified) string parses again, to the same parts, and formats to
 * the same string.
 */
#include "common.h"

#include <string.h>

#include "imageref.h"
#include "fuzz.h"

const char	*const fuzz_target_name = "imageref";

/* Whether the optional strings a and b are both absent or equal. */
static int
same_part(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* The invariants of one parsed reference, parsed from the len bytes at s. */
static void
check_parts(const struct imageref *ref, const char *s, size_t len)
{
	size_t	 tl, dl;

	FUZZ_REQUIRE(ref->domain != NULL && ref->path != NULL, "no domain or "
	    "path");
	FUZZ_REQUIRE(strlen(ref->domain) == ref->domain_len, "domain_len %zu "
	    "for \"%s\"", ref->domain_len, ref->domain);
	FUZZ_REQUIRE(strlen(ref->path) == ref->path_len, "path_len %zu for "
	    "\"%s\"", ref->path_len, ref->path);
	FUZZ_REQUIRE(ref->path_len > 0 && ref->path_len <= IMAGEREF_PATH_MAX,
	    "path of %zu bytes", ref->path_len);

	/* Tag and digest are kept byte for byte: the input ends with them. */
	dl = ref->digest != NULL ? strlen(ref->digest) + 1 : 0;
	FUZZ_REQUIRE(ref->digest == NULL || (dl < len && s[len - dl] == '@' &&
	    memcmp(s + len - dl + 1, ref->digest, dl - 1) == 0),
	    "digest \"%s\" is not the input's", ref->digest);
	tl = ref->tag != NULL ? strlen(ref->tag) + 1 : 0;
	FUZZ_REQUIRE(ref->tag == NULL || (tl > 1 && tl + dl < len &&
	    s[len - dl - tl] == ':' &&
	    memcmp(s + len - dl - tl + 1, ref->tag, tl - 1) == 0),
	    "tag \"%s\" is not the input's", ref->tag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imageref	*ref = NULL, *again = NULL;
	const char	*s = (const char *)data;
	char		*cause = NULL, *formatted = NULL, *reformatted = NULL;

	if (imageref_parse(s, size, &ref, &cause) != 0) {
		FUZZ_REQUIRE(cause != NULL && *cause != '\0', "refused without "
		    "a reason");
		FUZZ_REQUIRE(ref == NULL, "*out set on error");
		goto end;
	}
	FUZZ_REQUIRE(ref != NULL, "accepted without a reference");
	FUZZ_REQUIRE(memchr(s, '\0', size) == NULL, "accepted an embedded "
	    "NUL");
	check_parts(ref, s, size);

	formatted = imageref_format(ref);
	if (imageref_parse(formatted, strlen(formatted), &again,
	    &cause) != 0)
		FUZZ_REQUIRE(0, "\"%.*s\" formats to \"%s\", which does not "
		    "parse: %s", (int)size, s, formatted, cause);
	check_parts(again, formatted, strlen(formatted));
	FUZZ_REQUIRE(strcmp(ref->domain, again->domain) == 0 &&
	    strcmp(ref->path, again->path) == 0 &&
	    same_part(ref->tag, again->tag) &&
	    same_part(ref->digest, again->digest),
	    "\"%.*s\" (%s / %s) formats to \"%s\", which parses to %s / %s",
	    (int)size, s, ref->domain, ref->path, formatted, again->domain,
	    again->path);
	reformatted = imageref_format(again);
	FUZZ_REQUIRE(strcmp(formatted, reformatted) == 0, "\"%s\" formats "
	    "to \"%s\"", formatted, reformatted);
end:
	free(cause);
	free(formatted);
	free(reformatted);
	imageref_free(ref);
	imageref_free(again);
	return (0);
}
