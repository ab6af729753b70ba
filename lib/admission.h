/*
 * admission.h: one AdmissionReview in, the response AdmissionReview out.
 *
 * Owns the admission.k8s.io protocol (v1 and v1beta1) as a mutating webhook
 * sees it: which requests gilly acts on, the JSON Patch (RFC 6902) that points
 * images at the mirror, the annotation recording the original images, the
 * warnings and audit annotations, and the refusal of malformed bodies.
 * Memory in, memory out; the side effects are log_line() and the table's
 * memo of answers (lib/memo.h): a table is for one thread at a time.
 *
 * Requests acted on (everything else is answered allowed, without a patch):
 * - Pod CREATE: every image of containers, initContainers, ephemeralContainers.
 * - Pod UPDATE: only the images the update itself changes (a container whose
 *   image differs from oldObject's container of the same name in the same
 *   list, or that oldObject lacks), so that an update of labels never
 *   restarts a container.
 * - UPDATE of the pods/ephemeralcontainers subresource (kubectl debug): new
 *   ephemeral containers only. The API server keeps only the ephemeral
 *   container changes of such a patch, so there the originals are reported in
 *   warnings and auditAnnotations, not in the Pod annotation.
 */
#ifndef GILLY_ADMISSION_H
#define GILLY_ADMISSION_H

#include "common.h"

#include <stddef.h>

#include "mirror.h"

/*
 * Largest body accepted. The API server caps a request body at 3 MiB
 * (an object and its oldObject of up to 1.5 MiB each, the etcd limit);
 * 4 MiB leaves room for the review around them.
 */
#define ADMISSION_BODY_MAX	(4UL * 1024 * 1024)

/*
 * Deepest nesting of JSON values accepted, the outermost counting as 1
 * and a scalar as a level of its own (as json-c counts). A Pod review
 * nests about 15 deep (managedFields included); 64 leaves a wide margin
 * while keeping a hostile body from costing more.
 */
#define ADMISSION_DEPTH_MAX	64

/*
 * Pod annotation recording the images gilly replaced: a JSON object mapping
 * each rewritten container's name to its original image, e.g.
 * {"app":"gcr.io/team/app:1"}. An UPDATE that rewrites more images merges
 * its entries into the existing record.
 */
#define ADMISSION_ANNOTATION_ORIGINAL	"gilly.io/original-images"

/* Pod annotation by which an owner opts a Pod out: the value "true". */
#define ADMISSION_ANNOTATION_SKIP	"gilly.io/skip"

/*
 * Keys of response.auditAnnotations (the API server prefixes them with the
 * webhook's name): JSON objects mapping container names to the original and
 * to the mirrored images.
 */
#define ADMISSION_AUDIT_ORIGINAL	"original-images"
#define ADMISSION_AUDIT_MIRRORED	"mirrored-images"

/* What became of a review, for log lines and metrics. */
enum admission_kind {
	ADMISSION_PATCHED,	/* an image rewritten: a patch */
	ADMISSION_UNCHANGED,	/* a Pod acted on, nothing to rewrite */
	ADMISSION_IGNORED,	/* not a Pod, or an operation left alone */
	ADMISSION_EXCLUDED,	/* excluded namespace, or opted out */
	ADMISSION_INVALID	/* bad input: status 400 */
};

/*
 * The answer to one review. body is the response AdmissionReview (status
 * 200) or {"error":"..."} (status 400, with error the message alone).
 * registries holds the upstream host (lowercased) of each of the rewrites.
 */
struct admission_result {
	int			 status;	/* HTTP status: 200 or 400 */
	enum admission_kind	 kind;
	char			*body;
	size_t			 body_len;
	char			*error;		/* 400 only; else NULL */
	size_t			 rewrites;	/* images rewritten */
	size_t			 invalid;	/* images left: invalid, or
						   their rule's result refused */
	char			**registries;
};

/*
 * Answer the len bytes at body (need not be NUL-terminated) with the table.
 * Always fills *res; new: its members, freed by admission_result_free().
 * Returns 0 for a review answered (status 200), -1 for bad input (status 400,
 * res->error says what was wrong and where, as a JSON path).
 */
int		 admission_review(const struct mirror *, const char *body,
		    size_t len, struct admission_result *res);

/* Free the members of *res (not res itself); NULL-safe. */
void		 admission_result_free(struct admission_result *);

/* borrowed: "patched", "unchanged", "ignored", "excluded" or "invalid". */
const char	*admission_kind_name(enum admission_kind);

/*
 * RFC 4648 section 4 base64, with padding. new: caller frees; *outlen (if not
 * NULL) receives the length without the NUL.
 */
char		*admission_base64(const void *, size_t, size_t *outlen);

/*
 * A JSON Pointer reference token (RFC 6901 section 3): "~" becomes "~0" and
 * "/" becomes "~1". new: caller frees.
 */
char		*admission_pointer_escape(const char *, size_t);

#endif
