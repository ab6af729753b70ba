/*
 * t_imageref.c: unit tests for the image reference grammar (lib/imageref.h).
 *
 * The expected results are those of github.com/distribution/reference,
 * ParseNormalizedNamed(s) followed by String(), derived case by case from
 * normalize.go (splitDockerDomain, the lowercase check), reference.go
 * (Parse, the path length limit), regexp.go (the grammar) and go-digest
 * (digest.go Validate, algorithm.go: sha256, sha384 and sha512 in lowercase
 * hex of 64, 96 and 128 digits; any other algorithm is unsupported). The
 * cases of normalize_test.go, reference_test.go and regexp_test.go are all
 * here, put through ParseNormalizedNamed.
 */
#include "common.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"

/* The implicit registry and namespace every familiar name gets. */
#define DL	"docker.io/library/"

/* Digests and 64-digit identifiers. */
#define H16	"0123456789abcdef"
#define H31	H16 "0123456789abcde"
#define H32	H16 H16
#define H63	H32 H31
#define H64	H32 H32
#define H65	H64 "0"
#define H96	H64 H32
#define H127	H64 H63
#define H128	H64 H64
#define F64	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define U64	"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define D256	"sha256:" H64
#define D384	"sha384:" H96
#define D512	"sha512:" H128
#define BUSYBOX	"sha256:86e0e091d0da6bde2456dbb48306f395" \
		"6bbeb2eae1b5b9a43045843f69fe4aaa"
#define REDIS	"sha256:dbcc1c35ac38df41fd2f5e4130b32ffd" \
		"b93ebae8b3dbe638c23575912276fc9c"
#define IDENT	"1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

/* Runs of 'a' for the length limits (path 255, tag 128). */
#define A10	"aaaaaaaaaa"
#define A50	A10 A10 A10 A10 A10
#define A100	A50 A50
#define A128	A100 A10 A10 "aaaaaaaa"
#define A129	A128 "a"
#define A239	A100 A100 A10 A10 A10 "aaaaaaaaa"
#define A240	A239 "a"
#define A247	A240 "aaaaaaa"
#define A248	A247 "a"
#define A251	A248 "aaa"
#define A252	A251 "a"
#define A255	A252 "aaa"
#define A256	A255 "a"
/* "a/" repeated 127 and 128 times, as in reference_test.go. */
#define AS10	"a/a/a/a/a/a/a/a/a/a/"
#define AS127	AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 \
		"a/a/a/a/a/a/a/"
#define AS128	AS127 "a/"
#define LONGNS	"this_is_not_a_valid_namespace_because_its_" \
		"lenth_is_greater_than_255_"

struct tcase {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	const char	*want;	/* the normalized form, NULL when invalid */
};

#define GOOD(in, want)	{ (in), 0, (want) }
#define SAME(in)	{ (in), 0, (in) }
#define BAD(in)		{ (in), 0, NULL }
/* An input with an embedded NUL: its length is that of the literal. */
#define BADN(in)	{ (in), sizeof(in) - 1, NULL }

static const struct tcase cases[] = {
	/*
	 * Familiar names: no '/' means docker.io and library/
	 * (splitDockerDomain's fast path); a lowercase first component
	 * without '.' or ':' is a docker.io namespace.
	 */
	GOOD("nginx", DL "nginx"),
	GOOD("nginx:1.25", DL "nginx:1.25"),
	GOOD("nginx:latest", DL "nginx:latest"),
	GOOD("debian", DL "debian"),
	GOOD("redis", DL "redis"),
	GOOD("redis:latest", DL "redis:latest"),
	GOOD("busybox:latest", DL "busybox:latest"),
	GOOD("dbcc1", DL "dbcc1"),
	GOOD("library", DL "library"),
	GOOD("ubuntu-12.04-base", DL "ubuntu-12.04-base"),
	GOOD("library/nginx", DL "nginx"),
	GOOD("library/nginx:1.25", DL "nginx:1.25"),
	GOOD("library/debian", DL "debian"),
	GOOD("library/busybox:latest", DL "busybox:latest"),
	GOOD("library/foo/bar", DL "foo/bar"),
	GOOD("docker/docker", "docker.io/docker/docker"),
	GOOD("docker/migrator", "docker.io/docker/migrator"),
	GOOD("foo/bar", "docker.io/foo/bar"),
	GOOD("foo/bar/baz", "docker.io/foo/bar/baz"),
	GOOD("fooo/bar", "docker.io/fooo/bar"),
	GOOD("nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu"),
	GOOD("other/library", "docker.io/other/library"),
	GOOD("store/foo/bar", "docker.io/store/foo/bar"),
	GOOD("dmcgowan/myapp", "docker.io/dmcgowan/myapp"),
	GOOD("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest"),
	GOOD("a/a/a/a", "docker.io/a/a/a/a"),
	GOOD("aa-a/a", "docker.io/aa-a/a"),
	GOOD("localhost_1/foo", "docker.io/localhost_1/foo"),
	GOOD("foo/localhost:5000", "docker.io/foo/localhost:5000"),

	/* docker.io and index.docker.io written out (the legacy name folds). */
	GOOD("docker.io/nginx", DL "nginx"),
	GOOD("docker.io/nginx:1", DL "nginx:1"),
	GOOD("docker.io/debian", DL "debian"),
	GOOD("docker.io/busybox:latest", DL "busybox:latest"),
	SAME("docker.io/library/nginx"),
	SAME("docker.io/library/debian"),
	SAME("docker.io/library/redis:latest"),
	SAME("docker.io/library/foo/bar"),
	SAME("docker.io/docker/docker"),
	SAME("docker.io/mcgowan/myapp:latest"),
	GOOD("docker.io/library", DL "library"),
	SAME("docker.io/library/library"),
	GOOD("index.docker.io/nginx", DL "nginx"),
	GOOD("index.docker.io/debian", DL "debian"),
	GOOD("index.docker.io/foo/bar", "docker.io/foo/bar"),
	GOOD("index.docker.io/fooo/bar", "docker.io/fooo/bar"),
	GOOD("index.docker.io/docker/docker", "docker.io/docker/docker"),
	GOOD("index.docker.io/library/debian", DL "debian"),
	GOOD("index.docker.io/library/ubuntu-12.04-base",
	    DL "ubuntu-12.04-base"),
	GOOD("index.docker.io/nginx:1.25@" D256, DL "nginx:1.25@" D256),
	/* Only the exact lowercase names are Docker Hub. */
	SAME("registry-1.docker.io/nginx"),
	SAME("Docker.io/nginx"),
	SAME("INDEX.DOCKER.IO/nginx"),
	SAME("docker.io:443/nginx"),
	SAME("index.docker.io:443/nginx"),
	SAME("Index.docker.io/foo"),
	/* Only the first component is looked at. */
	SAME("docker.io/index.docker.io/foo"),
	/* Without a '/' they are repository names. */
	GOOD("docker.io", DL "docker.io"),
	GOOD("index.docker.io", DL "index.docker.io"),
	BAD("docker.io/"),
	BAD("index.docker.io/"),
	BAD("docker.io/Nginx"),
	BAD("index.docker.io/Foo/bar"),
	BAD("docker.io/docker/Docker"),
	BAD("docker.io/docker///docker"),
	SAME("gcr.io/library/busybox"),

	/* localhost is a domain only before a '/'. */
	GOOD("localhost", DL "localhost"),
	GOOD("localhost:5000", DL "localhost:5000"),
	GOOD("localhost:latest", DL "localhost:latest"),
	GOOD("localhost@" D256, DL "localhost@" D256),
	GOOD("localhost:8080@" D256, DL "localhost:8080@" D256),
	SAME("localhost/foo"),
	SAME("localhost/foo:tag"),
	SAME("localhost/library/foo"),
	SAME("localhost:5000/foo"),
	SAME("localhost:5000/foo/bar:1.0"),
	SAME("localhost:8080/name@" D256),
	SAME("localhost.localdomain/foo"),
	SAME("LOCALHOST/foo"),
	SAME("Localhost:5000/foo"),
	BAD("localhost/Foo"),
	BAD("localhost/"),
	BAD("localhost:5000/"),
	BAD("localhost:/foo"),
	BAD("localhost:http/name@" D256),
	BAD("localhost:5000:tag"),

	/* host and host:port. */
	SAME("test.com/foo"),
	SAME("test.com/repo:tag"),
	SAME("test.com:8080/foo"),
	SAME("test-com:8080/foo"),
	SAME("test:8080/foo"),
	SAME("test:5000/repo"),
	SAME("test:5000/repo:tag"),
	SAME("test:5000/repo@sha256:" F64),
	SAME("test:5000/repo:tag@sha256:" F64),
	GOOD("test.com:tag", DL "test.com:tag"),
	GOOD("test.com:5000", DL "test.com:5000"),
	GOOD("example.com", DL "example.com"),
	GOOD("example.com:5000", DL "example.com:5000"),
	SAME("example.com/foo"),
	SAME("example.com/private/moonbase"),
	SAME("example.com/privatebase"),
	SAME("example.com:8000/private/moonbase"),
	SAME("example.com:8000/privatebasee"),
	SAME("example.com:8000/named:tagged"),
	SAME("example.com:0/foo"),
	SAME("example.com:99999999/foo"),
	SAME("example.com:99999999999999999999999999999999999999/foo"),
	SAME("example.com/xn--7o8h.com/myimage"),
	SAME("sub-dom1.foo.com/bar/baz/quux"),
	SAME("sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
	SAME("blog.foo.com/bar/baz"),
	SAME("b.gcr.io/test.example.com/my-app:test.example.com"),
	SAME("xn--n3h.com/foo"),
	SAME("xn--n3h.com:18080/foo"),
	SAME("xn--n3h.com/myimage:xn--n3h.com"),
	SAME("xn--7o8h.com/myimage:xn--7o8h.com@sha512:" F64 F64),
	SAME("registry.com:8080/myapp:tag"),
	SAME("registry.io/foo/project--id.module--name.ver---sion--name"),
	SAME("a.b/c"),
	SAME("a-b.com/c"),
	SAME("ab.c-om/foo"),
	SAME("0101.com/foo"),
	SAME("001a.com/foo"),
	SAME("b.gbc.io:443/foo"),
	SAME("foo:5000/bar"),
	GOOD("foo_bar.com:8080", DL "foo_bar.com:8080"),
	GOOD("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"),
	GOOD("test_com", DL "test_com"),
	GOOD("test_com/foo", "docker.io/test_com/foo"),
	BAD("-ab.com/foo"),
	BAD("ab-.com/foo"),
	BAD("ab.-com/foo"),
	BAD("ab.com-/foo"),
	BAD(".foo.com/bar"),
	BAD("foo.com./bar"),
	BAD("foo..com/bar"),
	BAD("-docker.io/docker/docker"),
	BAD("example.com:/foo"),
	BAD("example.com:http/foo"),
	BAD("foo.com:http/bar"),
	BAD("example.com:5000:6000/foo"),
	BAD("example.com:-1/foo"),
	BAD("foo:tag/bar"),
	BAD("https://github.com/docker/docker"),
	BAD("foo.com/"),

	/* IPv4 addresses are domain names to the grammar: no range check. */
	GOOD("192.168.0.1", DL "192.168.0.1"),
	GOOD("192.168.0.1:80", DL "192.168.0.1:80"),
	GOOD("192.168.1.1:tag", DL "192.168.1.1:tag"),
	SAME("192.168.0.1:8/debian"),
	SAME("192.168.0.2:25000/debian"),
	SAME("127.0.0.1:5000/docker/docker"),
	SAME("127.0.0.1:5000/library/debian"),
	SAME("127.0.0.1:5000/debian"),
	SAME("127.0.0.1:8000/private/moonbase"),
	SAME("127.0.0.1:8000/privatebase"),
	SAME("192.168.1.1/repo"),
	SAME("192.168.1.1:5000/repo"),
	SAME("192.168.1.1:5000/repo:5050"),
	SAME("192.168.1.1:75050/foo"),
	SAME("256.300.1.1/foo"),
	SAME("1.2.3/foo"),

	/* IPv6: brackets of hex digits and colons, with an optional port. */
	SAME("[fc00::1]:5000/docker"),
	SAME("[fc00::1]:5000/docker/docker"),
	SAME("[fc00:1:2:3:4:5:6:7]:5000/library/debian"),
	SAME("[2001:db8::1]/repo"),
	SAME("[2001:db8:1:2:3:4:5:6]/repo:tag"),
	SAME("[2001:db8::1]:5000/repo"),
	SAME("[2001:db8::1]:5000/repo:tag"),
	SAME("[2001:db8::1]:5000/repo@sha256:" F64),
	SAME("[2001:db8::1]:5000/repo:tag@sha256:" F64),
	SAME("[2001:db8::]:5000/repo"),
	SAME("[::1]:5000/repo"),
	SAME("[::1]/foo"),
	SAME("[2001:DB8::1]/foo"),
	SAME("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/foo"),
	/* The grammar does not check IPv6 further than its charset. */
	SAME("[fd00123123123]:75050/foo"),
	SAME("[:::]/foo"),
	BAD("[fc00::1]"),
	BAD("[fc00::1]:5000"),
	BAD("[2001:db8::1]"),
	BAD("[2001:db8::1]:5000"),
	BAD("[2001:db8::1]:tag"),
	BAD("[::1]"),
	BAD("fc00::1:5000/debian"),
	BAD("::1/foo"),
	BAD("[fe80::1%eth0]:5000/debian"),
	BAD("[fe80::1%@invalidzone]:5000/repo"),
	BAD("[2001:db8:3:4::192.0.2.33]:5000/debian"),
	BAD("[fd00:1:2::3]75050/foo"),
	BAD("[fd00:1:2::3]::75050/foo"),
	BAD("[]/foo"),
	BAD("[::1/foo"),
	BAD("::1]/foo"),
	BAD("[g::1]/foo"),
	BAD("[::1]:/foo"),
	BAD("[::1]/Foo"),

	/*
	 * Uppercase: allowed in the domain, never in the path; a first
	 * component with an uppercase letter is taken as a domain.
	 */
	SAME("Foo/bar"),
	SAME("FOO/bar"),
	SAME("fOO/bar"),
	SAME("Docker/docker"),
	SAME("DOCKER/docker"),
	SAME("Foo/bar:Tag"),
	SAME("Uppercase/lowercase:tag"),
	SAME("Asdf.com/foo/bar"),
	SAME("EXAMPLE.COM:5000/foo:TAG"),
	GOOD("lowercase:Uppercase", DL "lowercase:Uppercase"),
	BAD("Foo"),
	BAD("Nginx:latest"),
	BAD("Uppercase:tag"),
	BAD("foo/Bar"),
	BAD("Foo/Bar"),
	BAD("Foo/FarB"),
	BAD("docker/Docker"),
	BAD("Foo_bar/baz"),
	BAD("test:5000/Uppercase/lowercase:tag"),
	BAD("example.com/Foo"),

	/*
	 * Path separators: one '.', one '_', "__", or any run of '-', each
	 * between alphanumerics.
	 */
	GOOD("foo.bar", DL "foo.bar"),
	GOOD("foo_bar", DL "foo_bar"),
	GOOD("foo__bar", DL "foo__bar"),
	GOOD("foo-bar", DL "foo-bar"),
	GOOD("foo--bar", DL "foo--bar"),
	GOOD("foo---bar", DL "foo---bar"),
	GOOD("foo/a.b_c__d-e--f", "docker.io/foo/a.b_c__d-e--f"),
	GOOD("docker-rules/docker", "docker.io/docker-rules/docker"),
	GOOD("docker---rules/docker", "docker.io/docker---rules/docker"),
	GOOD("doc/docker", "docker.io/doc/docker"),
	GOOD("d/docker", "docker.io/d/docker"),
	GOOD("jess/t", "docker.io/jess/t"),
	GOOD("dock__er/docker", "docker.io/dock__er/docker"),
	GOOD("do__cker/docker", "docker.io/do__cker/docker"),
	SAME("example.com/some_separator__underscore/myimage"),
	SAME("example.com/foo_bar"),
	BAD("foo___bar"),
	BAD("foo..bar"),
	BAD("foo._bar"),
	BAD("foo_.bar"),
	BAD("foo-.bar"),
	BAD("foo.-bar"),
	BAD("foo-_bar"),
	BAD("foo_-bar"),
	BAD("foo__.bar"),
	BAD("_foo"),
	BAD("__foo"),
	BAD("foo_"),
	BAD("-foo"),
	BAD("foo-"),
	BAD(".foo"),
	BAD("foo."),
	BAD("foo/_bar"),
	BAD("foo/bar_"),
	BAD("foo/-bar"),
	BAD("foo/bar-"),
	BAD("foo/.bar"),
	BAD("foo/bar."),
	BAD("foo/bar___baz"),
	BAD("-docker"),
	BAD("-docker/docker"),
	BAD("docker-/docker"),
	BAD("-docker-/docker"),
	BAD("docker_/docker_"),
	BAD("____/____"),
	BAD("_docker/_docker"),
	BAD("dock..er/docker"),
	BAD("dock_.er/docker"),
	BAD("dock-.er/docker"),
	BAD("do..cker/docker"),
	BAD("docker./docker"),
	BAD(".docker/docker"),
	BAD("do__cker:8080/docker"),
	BAD("a-/a/a/a"),
	BAD("foo.com/a-/a/a"),
	BAD("example.com/__underscore/myimage"),
	BAD("example.com/..dots/myimage"),
	BAD("example.com/.dots/myimage"),
	BAD("example.com/nodouble..dots/myimage"),
	BAD("docker/"),
	BAD("docker///docker"),
	BAD("a//a/a"),
	BAD("a/a/a/a/"),
	BAD("/foo"),
	BAD("/"),
	BAD("//"),
	BAD("a^a"),
	BAD("aa/asdf$$^/aa"),
	BAD("asdf$$^/aa"),

	/* Tags: [\w][\w.-]{0,127}, kept byte for byte. */
	GOOD("foo:bar", DL "foo:bar"),
	GOOD("foo:_bar", DL "foo:_bar"),
	GOOD("foo:0", DL "foo:0"),
	GOOD("foo:bar.baz-1_2", DL "foo:bar.baz-1_2"),
	GOOD("foo:v1.0.0-RC1", DL "foo:v1.0.0-RC1"),
	GOOD("foo:bar-", DL "foo:bar-"),
	GOOD("foo:bar.", DL "foo:bar."),
	GOOD("foo:" A128, DL "foo:" A128),
	BAD("foo:" A129),
	BAD("foo:"),
	BAD("foo:.bar"),
	BAD("foo:-bar"),
	BAD("foo:bar:baz"),
	BAD("foo:a+b"),
	BAD("foo:invalid~tag"),
	BAD("registry.com:8080/myapp:invalid~tag"),
	BAD("bad_hostname.com:8080/myapp:tag"),
	BAD(":justtag"),
	BAD(":"),

	/* Digests: go-digest validation on top of the grammar. */
	GOOD("foo@" D256, DL "foo@" D256),
	GOOD("foo@" D384, DL "foo@" D384),
	GOOD("foo@" D512, DL "foo@" D512),
	GOOD("redis@" REDIS, DL "redis@" REDIS),
	SAME("docker.io/library/redis@" REDIS),
	GOOD("dmcgowan/myapp@" REDIS, "docker.io/dmcgowan/myapp@" REDIS),
	SAME("docker.io/dmcgowan/myapp@" REDIS),
	SAME("other.com/named@sha256:"
	    "1234567890098765432112345667890098765432112345667890098765432112"),
	SAME("registry.com:8080/myapp@sha256:"
	    "be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"),
	BAD("foo@sha256:" H63),
	BAD("foo@sha256:" H65),
	BAD("foo@sha256:" H96),
	BAD("foo@sha384:" H64),
	BAD("foo@sha512:" H127),
	BAD("foo@sha256:" U64),
	BAD("foo@sha256:" H32 "0123456789ABCDEF0123456789abcdef"),
	BAD("foo@sha256:" H31),
	BAD("repo@sha256:ffffffffffffffffffffffffffffffffff"),
	BAD("foo@sha1:" H32 "01234567"),
	BAD("foo@md5:" H32),
	BAD("validname@invaliddigest:" F64),
	BAD("foo@sha256+b64:" H64),
	BAD("foo@SHA256:" H64),
	BAD("foo:tag@SHA256:" H64),
	BAD("foo@sha256:"),
	BAD("foo@"),
	BAD("foo@:" H64),
	BAD("@sha256:" F64),
	BAD("foo@sha256:g" H63),
	BAD("registry.com:8080/myapp@sha256:badbadbadbad"),
	BAD("registry.com:8080/myapp@bad"),
	BAD("registry.com:8080/myapp@2bad"),
	BAD("foo@" D256 "@" D256),
	BAD("foo@" D256 ":tag"),

	/* A tag and a digest together: both kept. */
	GOOD("busybox:latest@" BUSYBOX, DL "busybox:latest@" BUSYBOX),
	SAME("gcr.io/library/busybox:latest@sha256:"
	    "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"),
	GOOD("foo:Tag_1.0@" D512, DL "foo:Tag_1.0@" D512),
	SAME("localhost:5000/foo:1@" D256),
	BAD("foo:tag@sha256:" H63),
	BAD("foo:@" D256),

	/* 64 lowercase hex digits alone are an identifier, not a name. */
	BAD(H64),
	BAD(IDENT),
	BAD("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"),
	BAD(U64),
	GOOD(H64 ":tag", DL H64 ":tag"),
	GOOD(H64 "@" D256, DL H64 "@" D256),
	GOOD(H63, DL H63),
	GOOD(H65, DL H65),
	GOOD("docker.io/" IDENT, DL IDENT),
	GOOD("library/" H64, DL H64),
	GOOD("foo/" H64, "docker.io/foo/" H64),
	GOOD("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
	    DL "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"),
	/* "sha256" is a name here and the hex its tag. */
	GOOD(D256, DL D256),

	/*
	 * The path may not exceed 255 characters, counted after library/ is
	 * added and without the domain (reference.go, Parse).
	 */
	GOOD(A247, DL A247),
	BAD(A248),
	GOOD("docker.io/" A247, DL A247),
	BAD("docker.io/" A248),
	GOOD("library/" A247, DL A247),
	BAD("library/" A248),
	GOOD("foo/" A251, "docker.io/foo/" A251),
	BAD("foo/" A252),
	SAME("example.com/" A255),
	BAD("example.com/" A256),
	SAME("localhost:5000/" A255),
	SAME("Foo/" A255),
	SAME(A100 A100 ".com/" A255),
	GOOD(A247 ":" A128, DL A247 ":" A128),
	GOOD(A247 "@" D256, DL A247 "@" D256),
	GOOD(AS127 "a:tag-puts-this-over-max",
	    "docker.io/" AS127 "a:tag-puts-this-over-max"),
	BAD(AS128 "a:tag"),
	BAD(LONGNS LONGNS LONGNS "this_is_not_a_valid_namespace_because_its_"
	    "lenth_is_greater_than_255/docker"),
	SAME("my_registry.com/" A239),
	BAD("my_registry.com/" A240),

	/*
	 * A first component with a '.' that is no valid host but is a valid
	 * path component: Parse finds no domain and keeps the whole name as
	 * the path, with no docker.io and no library/.
	 */
	SAME("my_registry.com/foo"),
	SAME("my_registry.com/foo:1.0"),
	SAME("my_registry.com/foo/bar@" D256),
	SAME("my__registry.com/foo"),
	SAME("foo.bar_baz/qux"),
	SAME("a_b.c_d/e"),
	BAD("my___registry.com/foo"),
	BAD("my_registry.com:5000/foo"),
	BAD("My_registry.com/foo"),
	BAD("my_registry.com/Foo"),
	BAD("my_registry.com/"),

	/* Empty, whitespace, control and non-ASCII bytes. */
	BAD(""),
	BAD(" "),
	BAD(" nginx"),
	BAD("nginx "),
	BAD("\tnginx"),
	BAD("nginx\t"),
	BAD("nginx\n"),
	BAD("nginx\r\n"),
	BAD("\n"),
	BAD("ng inx"),
	BAD("nginx: 1"),
	BAD("nginx:1 "),
	BAD("foo/ bar"),
	BAD("example.com /foo"),
	BAD("nginx\x7f"),
	BAD("ngin\xc3\xa9"),
	BAD("\xc3\xb1ginx"),
	BAD("nginx:tag\xc3\xa9"),
	BAD("ex\xc3\xa4mple.com/foo"),
	BAD("example.com/foo\xc3\xa9"),
	BAD("\xef\xbd\x8eginx"),
	BAD("nginx\xff"),
	BAD("\xc3\x89x.com/foo"),
	BADN("nginx\0"),
	BADN("ng\0inx"),
	BADN("\0"),
	BADN("\0nginx"),
	BADN("nginx:1\0"),
	BADN("example.com/foo\0bar"),
	BADN("localhost\0/foo"),
	BADN("nginx@" D256 "\0"),
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* A pointer no parse returns, to see that failures leave *out alone. */
static struct imageref	sentinel;

static size_t
case_len(const struct tcase *tc)
{
	return (tc->len != 0 ? tc->len : strlen(tc->in));
}

/* A copy of the input with nothing after it, so over-reads trip ASan. */
static char *
exact_copy(const char *s, size_t len)
{
	char	*p;

	p = xmalloc(len == 0 ? 1 : len);
	memcpy(p, s, len);
	return (p);
}

/* The reference rebuilt from its fields must be what format gives. */
static void
check_fields(const struct imageref *ref, const char *formatted)
{
	char	*s;
	size_t	 n;

	ck_assert_ptr_nonnull(ref->path);
	ck_assert_uint_gt(ref->path_len, 0);
	if (ref->domain_len > 0)
		ck_assert_ptr_nonnull(ref->domain);
	n = ref->domain_len + 1 + ref->path_len + 1 +
	    (ref->tag != NULL ? strlen(ref->tag) : 0) + 1 +
	    (ref->digest != NULL ? strlen(ref->digest) : 0) + 1;
	s = xmalloc(n);
	s[0] = '\0';
	if (ref->domain_len > 0) {
		strncat(s, ref->domain, ref->domain_len);
		strcat(s, "/");
	}
	strncat(s, ref->path, ref->path_len);
	if (ref->tag != NULL) {
		ck_assert_str_ne(ref->tag, "");
		strcat(s, ":");
		strcat(s, ref->tag);
	}
	if (ref->digest != NULL) {
		ck_assert_str_ne(ref->digest, "");
		strcat(s, "@");
		strcat(s, ref->digest);
	}
	ck_assert_str_eq(s, formatted);
	free(s);
}

/* Parse len bytes at s, which must succeed; return the formatted form. */
static char *
parse_format(const char *s, size_t len, struct imageref **refp)
{
	struct imageref	*ref = NULL;
	char		*cause = NULL, *buf, *formatted;
	int		 rv;

	buf = exact_copy(s, len);
	rv = imageref_parse(buf, len, &ref, &cause);
	free(buf);
	ck_assert_msg(rv == 0, "\"%s\": parse failed: %s", s,
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_nonnull(ref);
	ck_assert_ptr_null(cause);
	formatted = imageref_format(ref);
	ck_assert_ptr_nonnull(formatted);
	check_fields(ref, formatted);
	*refp = ref;
	return (formatted);
}

START_TEST(test_table)
{
	const struct tcase	*tc = &cases[_i];
	struct imageref		*ref, *ref2;
	char			*cause = NULL, *buf, *formatted, *again;
	size_t			 len = case_len(tc);
	int			 rv;

	if (tc->want == NULL) {
		ref = &sentinel;
		buf = exact_copy(tc->in, len);
		rv = imageref_parse(buf, len, &ref, &cause);
		free(buf);
		ck_assert_msg(rv == -1, "case %d \"%s\": accepted, want invalid",
		    _i, tc->in);
		ck_assert_msg(ref == &sentinel,
		    "case %d \"%s\": *out changed on failure", _i, tc->in);
		ck_assert_msg(cause != NULL && *cause != '\0',
		    "case %d \"%s\": no cause", _i, tc->in);
		free(cause);
		return;
	}

	formatted = parse_format(tc->in, len, &ref);
	ck_assert_msg(strcmp(formatted, tc->want) == 0,
	    "case %d \"%s\": got \"%s\", want \"%s\"", _i, tc->in, formatted,
	    tc->want);

	/* The normalized form is a fixed point with the same fields. */
	again = parse_format(formatted, strlen(formatted), &ref2);
	ck_assert_str_eq(again, formatted);
	ck_assert_uint_eq(ref2->domain_len, ref->domain_len);
	ck_assert_uint_eq(ref2->path_len, ref->path_len);
	ck_assert_int_eq(memcmp(ref2->path, ref->path, ref->path_len), 0);
	if (ref->domain_len > 0)
		ck_assert_int_eq(memcmp(ref2->domain, ref->domain,
		    ref->domain_len), 0);

	free(again);
	free(formatted);
	imageref_free(ref2);
	imageref_free(ref);
}
END_TEST

/* Expected fields; NULL tag or digest means absent. */
struct fcase {
	const char	*in;
	const char	*domain;
	const char	*path;
	const char	*tag;
	const char	*digest;
};

static const struct fcase fcases[] = {
	{ "nginx", "docker.io", "library/nginx", NULL, NULL },
	{ "nginx:1.25", "docker.io", "library/nginx", "1.25", NULL },
	{ "docker.io/nginx", "docker.io", "library/nginx", NULL, NULL },
	{ "index.docker.io/foo/bar:1", "docker.io", "foo/bar", "1", NULL },
	{ "gcr.io/team/app:1", "gcr.io", "team/app", "1", NULL },
	{ "localhost", "docker.io", "library/localhost", NULL, NULL },
	{ "localhost:5000", "docker.io", "library/localhost", "5000", NULL },
	{ "localhost:5000/foo", "localhost:5000", "foo", NULL, NULL },
	{ "Foo/bar", "Foo", "bar", NULL, NULL },
	{ "my_registry.com/foo", "", "my_registry.com/foo", NULL, NULL },
	{ "[::1]:5000/a/b:V1@" D256, "[::1]:5000", "a/b", "V1", D256 },
	{ "foo@" D512, "docker.io", "library/foo", NULL, D512 },
	{ "EXAMPLE.COM:5000/x:Tag_1.0-RC.2@" D384, "EXAMPLE.COM:5000", "x",
	    "Tag_1.0-RC.2", D384 },
	{ "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050",
	    NULL },
};

START_TEST(test_fields)
{
	const struct fcase	*fc = &fcases[_i];
	struct imageref		*ref;
	char			*formatted;

	formatted = parse_format(fc->in, strlen(fc->in), &ref);
	ck_assert_uint_eq(ref->domain_len, strlen(fc->domain));
	if (ref->domain_len > 0)
		ck_assert_int_eq(memcmp(ref->domain, fc->domain,
		    ref->domain_len), 0);
	ck_assert_uint_eq(ref->path_len, strlen(fc->path));
	ck_assert_int_eq(memcmp(ref->path, fc->path, ref->path_len), 0);
	if (fc->tag == NULL)
		ck_assert_ptr_null(ref->tag);
	else {
		ck_assert_ptr_nonnull(ref->tag);
		ck_assert_str_eq(ref->tag, fc->tag);
	}
	if (fc->digest == NULL)
		ck_assert_ptr_null(ref->digest);
	else {
		ck_assert_ptr_nonnull(ref->digest);
		ck_assert_str_eq(ref->digest, fc->digest);
	}
	free(formatted);
	imageref_free(ref);
}
END_TEST

/* Only the len bytes given are read: what follows them is ignored. */
START_TEST(test_length_bounds)
{
	const char	*s = "nginx:1.25-extra";
	struct imageref	*ref = NULL;
	char		*cause = NULL, *formatted;

	formatted = parse_format(s, 10, &ref);
	ck_assert_str_eq(formatted, DL "nginx:1.25");
	ck_assert_str_eq(ref->tag, "1.25");
	free(formatted);
	imageref_free(ref);

	formatted = parse_format("docker.io/nginxAAA", 15, &ref);
	ck_assert_str_eq(formatted, DL "nginx");
	free(formatted);
	imageref_free(ref);

	/* Zero bytes of a non-empty string is the empty reference. */
	ref = &sentinel;
	ck_assert_int_eq(imageref_parse("nginx", 0, &ref, &cause), -1);
	ck_assert_ptr_eq(ref, &sentinel);
	ck_assert_ptr_nonnull(cause);
	free(cause);

	/* A digest cut one digit short is invalid. */
	cause = NULL;
	ck_assert_int_eq(imageref_parse("foo@" D256, strlen("foo@" D256) - 1,
	    &ref, &cause), -1);
	ck_assert_ptr_eq(ref, &sentinel);
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

START_TEST(test_free_null)
{
	imageref_free(NULL);
}
END_TEST

/* Each format call returns a string of its own. */
START_TEST(test_format_new)
{
	struct imageref	*ref;
	char		*a, *b;

	a = parse_format("gcr.io/team/app:1", strlen("gcr.io/team/app:1"),
	    &ref);
	b = imageref_format(ref);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_str_eq(a, "gcr.io/team/app:1");
	ck_assert_str_eq(b, a);
	free(a);
	imageref_free(ref);
	ck_assert_str_eq(b, "gcr.io/team/app:1");
	free(b);
}
END_TEST

static Suite *
imageref_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imageref");

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table, 0, (int)NCASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, test_fields, 0,
	    (int)(sizeof(fcases) / sizeof(fcases[0])));
	tcase_add_test(tc, test_length_bounds);
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_format_new);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(imageref_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
