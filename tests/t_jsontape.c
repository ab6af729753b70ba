/*
 * t_jsontape.c: the reader of request bodies (lib/jsontape.c): the texts it
 * refuses and where it says the fault is, the depth limit, sizes it must
 * refuse before allocating, and what lookups and strings read back.
 * tests/fuzz/fuzz_jsontape.c compares it with json-c at large; these are
 * the cases a change must not move. Also the byte test that its string
 * scan and the writer's share (lib/wordscan.h), at both widths.
 */
#include "common.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsontape.h"
#include "wordscan.h"

static struct jsontape *
parse_ok(const char *text, size_t max_depth)
{
	struct jsontape	*t = NULL;
	const char	*what = NULL;
	size_t		 at = 0;

	ck_assert_msg(jsontape_parse(text, strlen(text), max_depth, &t, &at,
	    &what) == 0, "refused %s: %s at %zu", text,
	    what != NULL ? what : "?", at);
	ck_assert_ptr_nonnull(t);
	return (t);
}

static void
expect_bad(const char *text, size_t max_depth, size_t want_at,
    const char *want_what)
{
	struct jsontape	*t = (struct jsontape *)1;
	const char	*what = NULL;
	size_t		 at = SIZE_MAX;

	ck_assert_msg(jsontape_parse(text, strlen(text), max_depth, &t, &at,
	    &what) == -1, "accepted %s", text);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(what);
	ck_assert_msg(at == want_at, "%s: fault at %zu, not %zu (%s)", text,
	    at, want_at, what);
	if (want_what != NULL)
		ck_assert_msg(strstr(what, want_what) != NULL,
		    "%s: \"%s\", not \"%s\"", text, what, want_what);
}

START_TEST(test_accepts)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e-3", "-12E+2", "true", "null",
		"\"\"", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
		"\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"\"\xc3\xa9\"", "[[[[]]]]",
	};
	size_t	 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		jsontape_free(parse_ok(good[i], 8));
}
END_TEST

START_TEST(test_refuses)
{
	/* Each refused at the byte in fault, or where the text ran out. */
	expect_bad("", 8, 0, "end of data");
	expect_bad("01", 8, 1, NULL);
	expect_bad("1.", 8, 2, NULL);
	expect_bad("NaN", 8, 0, NULL);
	expect_bad("[1,]", 8, 3, NULL);
	expect_bad("{\"a\" 1}", 8, 5, "':'");
	expect_bad("{\"a\":1,}", 8, 7, NULL);
	expect_bad("\"a\tb\"", 8, 2, NULL);
	expect_bad("\"\\x\"", 8, 2, NULL);
	expect_bad("\"\\u12g4\"", 8, 5, NULL);
	expect_bad("{} {}", 8, 3, NULL);
	expect_bad("[1", 8, 2, "end of data");
	expect_bad("tru", 8, 3, "end of data");
}
END_TEST

/* Every value is a level, as json-c counts: [[1]] is 3 deep, [[]] 2. */
START_TEST(test_depth)
{
	jsontape_free(parse_ok("[[[1]]]", 4));
	jsontape_free(parse_ok("[[[]]]", 3));
	expect_bad("[[[1]]]", 3, 3, "nesting too deep");
	expect_bad("[[[[]]]]", 3, 3, "nesting too deep");
	expect_bad("{\"a\":{\"b\":{\"c\":{}}}}", 3, 15, "nesting too deep");
	/* A member's string value is a level too, as any other value. */
	jsontape_free(parse_ok("{\"a\":{\"b\":\"x\",\"c\":\"y\"}}", 3));
	expect_bad("{\"a\":{\"b\":\"x\"}}", 2, 10, "nesting too deep");
	expect_bad("{\"a\":\"x\"}", 1, 5, "nesting too deep");
}
END_TEST

/* Sizes whose block would not fit size_t: refused, nothing allocated. */
START_TEST(test_too_large)
{
	struct jsontape	*t = (struct jsontape *)1;
	const char	*what = NULL;
	size_t		 at = 1;

	ck_assert_int_eq(jsontape_parse("{}", 2, SIZE_MAX / 2, &t, &at,
	    &what), -1);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(at, 0);
	ck_assert_str_eq(what, "text too large");
	/*
	 * 2 GiB and more: token indexes would reach the stack's array bit.
	 * Refused before a byte of the text is read, so a short text with a
	 * length that large is enough to ask.
	 */
	t = (struct jsontape *)1;
	what = NULL;
	at = 1;
	ck_assert_int_eq(jsontape_parse("[]", (size_t)(UINT32_MAX / 2), 64,
	    &t, &at, &what), -1);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(at, 0);
	ck_assert_str_eq(what, "text too large");
}
END_TEST

START_TEST(test_lookup)
{
	static const char *const in_order[] = { "kind", "spec", "kind" };
	struct jsontape	*t;
	const char	*s;
	size_t		 v, e, n, len;

	t = parse_ok("{\"kind\":\"Pod\",\"spec\":{\"containers\":"
	    "[{\"image\":\"a\"},{\"image\":\"b\\u0000c\"}]},"
	    "\"k\\u0069nd\":\"Last\"}", 8);
	ck_assert_int_eq(jsontape_type(t, JSONTAPE_ROOT), JSONTAPE_OBJECT);
	ck_assert_uint_eq(jsontape_length(t, JSONTAPE_ROOT), 3);
	/* The last of two equal keys wins, once its escapes are read. */
	v = jsontape_member(t, JSONTAPE_ROOT, "kind");
	ck_assert_uint_ne(v, 0);
	ck_assert_str_eq(jsontape_string(t, v, &len), "Last");
	ck_assert_uint_eq(jsontape_member(t, JSONTAPE_ROOT, "absent"), 0);

	v = jsontape_member(t, jsontape_member(t, JSONTAPE_ROOT, "spec"),
	    "containers");
	ck_assert_int_eq(jsontape_type(t, v), JSONTAPE_ARRAY);
	ck_assert_uint_eq(jsontape_length(t, v), 2);
	e = jsontape_first(t, v);
	s = jsontape_string(t, jsontape_member(t, e, "image"), &len);
	ck_assert_str_eq(s, "a");
	e = jsontape_next(t, v, e);
	s = jsontape_string(t, jsontape_member(t, e, "image"), &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(s, "b\0c", 4);
	ck_assert_uint_eq(jsontape_next(t, v, e), 0);

	/* Members in document order, each with its key, unescaped. */
	n = 0;
	for (v = jsontape_first(t, JSONTAPE_ROOT); v != 0;
	    v = jsontape_next(t, JSONTAPE_ROOT, v)) {
		ck_assert_uint_lt(n, sizeof in_order / sizeof in_order[0]);
		ck_assert_str_eq(jsontape_key(t, v), in_order[n]);
		n++;
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(jsontape_string(t, jsontape_first(t, JSONTAPE_ROOT),
	    &len), "Pod");
	jsontape_free(t);
}
END_TEST

/*
 * The elements of an array and the root have the empty key, whatever key
 * came before them, and asking for it leaves every member's key as it was
 * (an escaped one is decoded once, in place).
 */
START_TEST(test_element_keys)
{
	struct jsontape	*t;
	size_t		 arr, e, n = 0;

	t = parse_ok("[{\"\\u0041\":[1,{\"b\":2},3],\"c\":[]},4]", 8);
	ck_assert_str_eq(jsontape_key(t, JSONTAPE_ROOT), "");
	for (e = jsontape_first(t, JSONTAPE_ROOT); e != 0;
	    e = jsontape_next(t, JSONTAPE_ROOT, e))
		ck_assert_str_eq(jsontape_key(t, e), "");
	e = jsontape_first(t, JSONTAPE_ROOT);
	arr = jsontape_member(t, e, "A");
	ck_assert_uint_ne(arr, 0);
	for (e = jsontape_first(t, arr); e != 0; e = jsontape_next(t, arr, e)) {
		ck_assert_str_eq(jsontape_key(t, e), "");
		n++;
	}
	ck_assert_uint_eq(n, 3);
	e = jsontape_next(t, arr, jsontape_first(t, arr));
	ck_assert_str_eq(jsontape_key(t, jsontape_first(t, e)), "b");
	e = jsontape_first(t, JSONTAPE_ROOT);
	ck_assert_uint_eq(jsontape_member(t, e, "A"), arr);
	ck_assert_str_eq(jsontape_key(t, arr), "A");
	ck_assert_uint_ne(jsontape_member(t, e, "c"), 0);
	jsontape_free(t);
}
END_TEST

/*
 * Several keys in one walk find what jsontape_member() finds for each:
 * names that begin alike or are prefixes of others, the empty name, a
 * repeated key (the last wins), names with escapes, and one with an
 * escaped NUL (json-c's keys end there).
 */
#define NKEYS	8

START_TEST(test_members)
{
	static const char *const keys[NKEYS] = { "name", "namespace", "n", "",
	    "kind", "a", "absent", "image" };
	struct jsontape	*t;
	size_t		 out[NKEYS], i, v;

	t = parse_ok("{\"namespace\":\"ns\",\"name\":\"first\",\"n\":1,"
	    "\"\":2,\"nam\":3,\"kind\":\"Pod\",\"n\\u0061me\":\"last\","
	    "\"a\\u0000b\":4,\"names\":5,\"image\":null}", 4);
	jsontape_members(t, JSONTAPE_ROOT, keys, NKEYS, out);
	for (i = 0; i < NKEYS; i++)
		ck_assert_msg(out[i] == jsontape_member(t, JSONTAPE_ROOT,
		    keys[i]), "key \"%s\": %zu", keys[i], out[i]);
	ck_assert_str_eq(jsontape_string(t, out[0], &i), "last");
	ck_assert_str_eq(jsontape_string(t, out[1], &i), "ns");
	ck_assert_int_eq(jsontape_type(t, out[2]), JSONTAPE_NUMBER);
	ck_assert_uint_ne(out[3], 0);
	ck_assert_uint_ne(out[5], 0);
	ck_assert_uint_eq(out[6], 0);
	ck_assert_int_eq(jsontape_type(t, out[7]), JSONTAPE_NULL);

	/* Not an object: nothing, and every slot says so. */
	v = out[0];
	for (i = 0; i < NKEYS; i++)
		out[i] = 1;
	jsontape_members(t, v, keys, NKEYS, out);
	for (i = 0; i < NKEYS; i++)
		ck_assert_uint_eq(out[i], 0);
	jsontape_free(t);
}
END_TEST

START_TEST(test_surrogates)
{
	struct jsontape	*t;
	size_t		 len;

	/* As json-c reads them: a pair is one code point, a lone one U+FFFD. */
	t = parse_ok("[\"\\ud83d\\ude00\",\"\\ud83d\"]", 4);
	ck_assert_str_eq(jsontape_string(t, jsontape_first(t, JSONTAPE_ROOT),
	    &len), "\xf0\x9f\x98\x80");
	ck_assert_str_eq(jsontape_string(t, jsontape_next(t, JSONTAPE_ROOT,
	    jsontape_first(t, JSONTAPE_ROOT)), &len), "\xef\xbf\xbd");
	jsontape_free(t);
}
END_TEST

/* Whether a string must not hold byte c as it is. */
static int
special(unsigned c)
{
	return (c == '"' || c == '\\' || c < 0x20);
}

/*
 * Every byte value at every position of a 16-byte run of plain bytes, and
 * a second special byte after it: the index of the first, or the width.
 * Bytes 0x80 and up are plain (a signed compare would take them for
 * control bytes).
 */
START_TEST(test_wordscan)
{
	unsigned char	 buf[16];
	size_t		 pos, want8, want16;
	unsigned	 c;

	for (c = 0; c < 256; c++)
		for (pos = 0; pos < sizeof buf; pos++) {
			memset(buf, 0x80 | 'a', sizeof buf);
			memset(buf, 'a', pos);
			buf[pos] = (unsigned char)c;
			if (pos + 1 < sizeof buf)
				buf[pos + 1] = '"';
			want16 = special(c) ? pos : pos + 1;
			if (want16 > sizeof buf)
				want16 = sizeof buf;
			want8 = want16 < 8 ? want16 : 8;
			ck_assert_uint_eq(wordscan_special16(buf), want16);
			ck_assert_uint_eq(wordscan_special(buf), want8);
			if (pos >= 8)
				ck_assert_uint_eq(wordscan_special(buf + 8),
				    want16 - 8);
		}
}
END_TEST

static Suite *
jsontape_suite(void)
{
	Suite	*s = suite_create("jsontape");
	TCase	*tc = tcase_create("jsontape");

	tcase_add_test(tc, test_accepts);
	tcase_add_test(tc, test_refuses);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_element_keys);
	tcase_add_test(tc, test_members);
	tcase_add_test(tc, test_surrogates);
	tcase_add_test(tc, test_wordscan);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(jsontape_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
