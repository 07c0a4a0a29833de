/*
 * tls: SNI selection as a table; then contexts built from certificates that
 * each test makes with the OpenSSL API in a temporary directory (good ones,
 * and each way a certificate can be wrong); then handshakes in memory, over a
 * BIO pair, between rondo's server SSL and a plain client SSL: the
 * certificate chosen by SNI and by key type, session resumption through
 * another context with the same ticket keys (as another worker), across a
 * rotation, and not after two; client certificates; https backends checked
 * against backendCA and their name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "conn.h"
#include "tls.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define DAY		(24L * 3600)
#define HANDSHAKE_STEPS	100	/* rounds of both sides; a handshake takes a handful */

#define ck_assert_has(haystack, needle)						\
	ck_assert_msg(strstr((haystack), (needle)) != NULL,			\
	    "expected \"%s\" in \"%s\"", (needle), (haystack))

/* SNI selection */

static const char *const names_a[] = { "example.com", "www.example.com" };
static const char *const names_b[] = { "*.example.com", "other.org" };
static const char *const names_c[] = { "API.Example.com", "*.other.org" };
static const struct tls_names sni_certs[] = {
	{ names_a, NELEM(names_a) },
	{ names_b, NELEM(names_b) },
	{ names_c, NELEM(names_c) },
};

static const struct {
	const char	*sni;
	size_t		 want;
} sni_cases[] = {
	{ NULL,			0 },	/* no SNI: the first */
	{ "",			0 },
	{ "example.com",	0 },
	{ "www.example.com",	0 },	/* exact, though *.example.com comes in cert 1 */
	{ "WWW.EXAMPLE.COM",	0 },	/* case-insensitive */
	{ "example.com.",	0 },	/* a trailing dot */
	{ "other.org",		1 },
	{ "mail.example.com",	1 },	/* the wildcard */
	{ "Mail.Example.Com",	1 },
	{ "api.example.com",	2 },	/* exact before the wildcard of an earlier cert */
	{ "a.b.example.com",	0 },	/* a wildcard covers one label only */
	{ ".example.com",	0 },	/* an empty label */
	{ "x.other.org",	2 },
	{ "x.y.other.org",	0 },
	{ "unknown.net",	0 },	/* no match: the first */
	{ "com",		0 },
	{ "example.com.evil",	0 },
};

START_TEST(test_sni_select)
{
	ck_assert_msg(tls_sni_select(sni_certs, NELEM(sni_certs), sni_cases[_i].sni) ==
	    sni_cases[_i].want, "\"%s\": expected %zu", sni_cases[_i].sni ? sni_cases[_i].sni : "(null)",
	    sni_cases[_i].want);
}
END_TEST

START_TEST(test_sni_no_certs)
{
	ck_assert_uint_eq(tls_sni_select(NULL, 0, "example.com"), 0);
}
END_TEST

/* Certificates made for each test */

static char dir[64];
static struct tls_keys *keys;
static long serial = 1;

static void
setup(void)
{
	char err[256] = "";

	snprintf(dir, sizeof(dir), "/tmp/check_tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_msg((keys = tls_keys_new(err, sizeof(err))) != NULL, "%s", err);
}

static void
teardown(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	tls_keys_free(keys);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static const char *
tmp(const char *name)
{
	static char paths[16][512];
	static unsigned next;
	char *p = paths[next++ % NELEM(paths)];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static EVP_PKEY *
key_new(int rsa)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

/*
 * A certificate for <key>, valid from now + <from> to now + <to> seconds,
 * with the DNS names in <san> ("DNS:a.test,DNS:b.test", or NULL for none),
 * signed by <ca_key> as <ca> (NULL: self-signed). Self-signed without names,
 * it is a CA.
 */
static X509 *
cert_new(EVP_PKEY *key, const char *san, long from, long to, X509 *ca, EVP_PKEY *ca_key)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)(san == NULL && ca == NULL ? "rondo test CA" : "rondo test"),
	    -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca != NULL ? ca : x));
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, ca != NULL ? ca : x, x, NULL, NULL, 0);
	if (san != NULL)
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	else if (ca == NULL)
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	else
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "CA:FALSE");
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, ca_key != NULL ? ca_key : key, EVP_sha256()), 0);
	return x;
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	if (x != NULL)
		ck_assert_int_eq(PEM_write_X509(f, x), 1);
	if (key != NULL)
		ck_assert_int_eq(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Makes <name>.pem and <name>.key: a self-signed certificate for <san>. */
static X509 *
make_pair(const char *name, int rsa, const char *san, long from, long to)
{
	char file[128];
	EVP_PKEY *k = key_new(rsa);
	X509 *x = cert_new(k, san, from, to, NULL, NULL);

	snprintf(file, sizeof(file), "%s.pem", name);
	write_pem(tmp(file), x, NULL);
	snprintf(file, sizeof(file), "%s.key", name);
	write_pem(tmp(file), NULL, k);
	EVP_PKEY_free(k);
	return x;
}

static struct conf *
conf_of(const char *fmt, ...)
{
	char json[4096], err[2048] = "";
	struct conf *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	ck_assert_msg(conf_load_string(&c, json, "test.json", err, sizeof(err)) == 0, "%s\n%s",
	    err, json);
	return c;
}

/* A configuration with a TLS listener serving the files <a>.pem/.key[, <b>.pem/.key]. */
static struct conf *
conf_certs(const char *a, const char *b, const char *extra)
{
	char second[512] = "";

	if (b != NULL)
		snprintf(second, sizeof(second), ", {\"cert\": \"%s/%s.pem\", \"key\": \"%s/%s.key\"}",
		    dir, b, dir, b);
	return conf_of("{\"tls\": {\"port\": 8443, \"certificates\": ["
	    "{\"cert\": \"%s/%s.pem\", \"key\": \"%s/%s.key\"}%s]%s},"
	    " \"servers\": [\"http://127.0.0.1:5001\"]}",
	    dir, a, dir, a, second, extra != NULL ? extra : "");
}

/* Contexts */

START_TEST(test_ctx_good)
{
	struct tls_ctx *t;
	struct conf *c;
	char err[2048] = "", out[2048] = "";
	FILE *f;
	X509 *x;

	X509_free(make_pair("a", 0, "DNS:example.com,DNS:*.example.com", -DAY, 90 * DAY));
	X509_free(make_pair("b", 0, "DNS:other.org", -DAY, 90 * DAY));
	c = conf_of("{\"port\": 8080, \"tls\": {\"port\": 8443, \"certificates\": ["
	    "{\"cert\": \"%s/a.pem\", \"key\": \"%s/a.key\"}, {\"cert\": \"%s/b.pem\", \"key\": \"%s/b.key\"}],"
	    " \"protocols\": [\"TLSv1.2\"], \"ciphers\": \"ECDHE+AESGCM\","
	    " \"ciphersuites\": \"TLS_AES_128_GCM_SHA256\"}, \"servers\": [\"http://127.0.0.1:5001\"]}",
	    dir, dir, dir, dir);
	ck_assert_msg((t = tls_ctx_new(c, keys, err, sizeof(err))) != NULL, "%s", err);
	ck_assert_str_eq(tls_ctx_warnings(t), "");
	ck_assert_ptr_nonnull(f = fmemopen(out, sizeof(out) - 1, "w"));
	tls_ctx_describe(t, f);
	fclose(f);
	ck_assert_has(out, "tls.certificates[0]: ");
	ck_assert_has(out, "/a.pem (ECDSA): example.com, *.example.com; expires 20");
	ck_assert_has(out, "/b.pem (ECDSA): other.org; expires ");
	tls_ctx_free(t);
	conf_free(c);

	/* A chain after the leaf is accepted: a CA-signed leaf, then its CA. */
	{
		EVP_PKEY *cak = key_new(0), *k = key_new(0);
		X509 *ca = cert_new(cak, NULL, -DAY, 90 * DAY, NULL, NULL);

		x = cert_new(k, "DNS:chain.test", -DAY, 90 * DAY, ca, cak);
		write_pem(tmp("chain.pem"), x, NULL);
		write_pem(tmp("chain.pem"), ca, NULL);
		write_pem(tmp("chain.key"), NULL, k);
		c = conf_certs("chain", NULL, NULL);
		ck_assert_msg((t = tls_ctx_new(c, keys, err, sizeof(err))) != NULL, "%s", err);
		tls_ctx_free(t);
		conf_free(c);
		X509_free(x);
		X509_free(ca);
		EVP_PKEY_free(k);
		EVP_PKEY_free(cak);
	}
}
END_TEST

/* No TLS at all: an empty tls_ctx, and no SSL from it. */
START_TEST(test_ctx_none)
{
	struct conf *c = conf_of("{\"port\": 8080, \"servers\": [\"http://127.0.0.1:5001\"]}");
	struct tls_ctx *t;
	char err[256] = "";

	ck_assert_msg((t = tls_ctx_new(c, keys, err, sizeof(err))) != NULL, "%s", err);
	ck_assert_ptr_null(tls_server_new(t));
	ck_assert_ptr_null(tls_client_new(t, "example.com", 1));
	tls_ctx_free(t);
	conf_free(c);
}
END_TEST

/* Each way of being wrong, and the line that says so. */
enum bad_case {
	BAD_MISSING, BAD_NOT_PEM, BAD_NO_CERT, BAD_NO_KEY, BAD_MISMATCH, BAD_EXPIRED,
	BAD_CIPHERS, BAD_CIPHERSUITES, BAD_CLIENT_CA, BAD_BACKEND_CA, BAD_ALL,
};

static const struct {
	enum bad_case	 which;
	const char	*says;		/* after "test.json: " */
} bad_cases[] = {
	{ BAD_MISSING,		"tls.certificates[1].cert: %s/missing.pem: cannot read: No such file or directory" },
	{ BAD_NOT_PEM,		"tls.certificates[1].cert: %s/b.pem: not a PEM file" },
	{ BAD_NO_CERT,		"tls.certificates[1].cert: %s/b.pem: no certificate in the file" },
	{ BAD_NO_KEY,		"tls.certificates[1].key: %s/b.key: no private key in the file" },
	{ BAD_MISMATCH,		"tls.certificates[1].key: %s/b.key: does not match the certificate %s/b.pem" },
	{ BAD_EXPIRED,		"tls.certificates[1].cert: %s/b.pem: expired on 20" },
	{ BAD_CIPHERS,		"tls.ciphers: no cipher matches \"NOPE\"" },
	{ BAD_CIPHERSUITES,	"tls.ciphersuites: \"TLS_NOPE\" is not a list of TLS 1.3 cipher suites" },
	{ BAD_CLIENT_CA,	"tls.clientCA: %s/ca.pem: not a PEM file" },
	{ BAD_BACKEND_CA,	"tls.backendCA: %s/b.key: no certificate in the file" },
	{ BAD_ALL,		"tls.certificates[0].cert: %s/a.pem: expired on" },
};

START_TEST(test_ctx_bad)
{
	const char *extra = NULL, *second = "b";
	char want[1024], err[4096] = "";
	struct tls_ctx *t;
	struct conf *c;
	EVP_PKEY *k;

	X509_free(make_pair("a", 0, "DNS:a.test", -DAY, 90 * DAY));
	X509_free(make_pair("b", 0, "DNS:b.test", -DAY, 90 * DAY));
	switch (bad_cases[_i].which) {
	case BAD_MISSING:
		second = "missing";
		break;
	case BAD_NOT_PEM:
		write_text(tmp("b.pem"), "not a certificate\n");
		break;
	case BAD_NO_CERT:
		unlink(tmp("b.pem"));
		write_pem(tmp("b.pem"), NULL, k = key_new(0));
		EVP_PKEY_free(k);
		break;
	case BAD_NO_KEY:
		unlink(tmp("b.key"));
		X509_free(make_pair("c", 0, "DNS:c.test", -DAY, 90 * DAY));
		rename(tmp("c.pem"), tmp("b.key"));
		break;
	case BAD_MISMATCH:
		rename(tmp("a.key"), tmp("b.key"));
		X509_free(make_pair("a", 0, "DNS:a.test", -DAY, 90 * DAY));
		break;
	case BAD_EXPIRED:
		unlink(tmp("b.pem"));
		unlink(tmp("b.key"));
		X509_free(make_pair("b", 0, "DNS:b.test", -2 * DAY, -DAY));
		break;
	case BAD_CIPHERS:
		extra = ", \"ciphers\": \"NOPE\"";
		break;
	case BAD_CIPHERSUITES:
		extra = ", \"ciphersuites\": \"TLS_NOPE\"";
		break;
	case BAD_CLIENT_CA:
		write_text(tmp("ca.pem"), "junk\n");
		extra = ", \"clientCA\": \"CA\"";
		break;
	case BAD_BACKEND_CA:
		extra = ", \"backendCA\": \"BCA\"";
		break;
	case BAD_ALL:
		unlink(tmp("a.pem"));
		unlink(tmp("a.key"));
		X509_free(make_pair("a", 0, "DNS:a.test", -2 * DAY, -DAY));
		extra = ", \"ciphers\": \"NOPE\"";
		second = "missing";
		break;
	}
	{
		/* The CA files are given by path: put them into the JSON text. */
		char ex[512] = "";

		if (extra != NULL && strstr(extra, "\"CA\"") != NULL)
			snprintf(ex, sizeof(ex), ", \"clientCA\": \"%s/ca.pem\"", dir);
		else if (extra != NULL && strstr(extra, "\"BCA\"") != NULL)
			snprintf(ex, sizeof(ex), ", \"backendCA\": \"%s/b.key\"", dir);
		else if (extra != NULL)
			snprintf(ex, sizeof(ex), "%s", extra);
		c = conf_of("{\"tls\": {\"port\": 8443, \"certificates\": ["
		    "{\"cert\": \"%s/a.pem\", \"key\": \"%s/a.key\"},"
		    " {\"cert\": \"%s/%s.pem\", \"key\": \"%s/b.key\"}]%s},"
		    " \"servers\": [\"http://127.0.0.1:5001\"]}", dir, dir, dir, second, dir, ex);
	}
	snprintf(want, sizeof(want), bad_cases[_i].says, dir, dir);
	ck_assert_ptr_null(t = tls_ctx_new(c, keys, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "test.json: ", 11) == 0, "%s", err);
	ck_assert_has(err, want);
	if (bad_cases[_i].which == BAD_ALL) {
		/* Every problem is told, one per line. */
		ck_assert_has(err, "test.json: tls.ciphers: no cipher matches");
		ck_assert_has(err, "missing.pem: cannot read");
	}
	conf_free(c);
}
END_TEST

/* Expiring within 14 days, verify off: warnings, not errors. */
START_TEST(test_ctx_warnings)
{
	char err[2048] = "";
	struct tls_ctx *t;
	struct conf *c;

	X509_free(make_pair("a", 0, "DNS:a.test", -DAY, 7 * DAY));
	c = conf_of("{\"tls\": {\"port\": 8443, \"certificates\": ["
	    "{\"cert\": \"%s/a.pem\", \"key\": \"%s/a.key\"}]},"
	    " \"servers\": [{\"url\": \"https://127.0.0.1:5001\", \"verify\": false}]}", dir, dir);
	ck_assert_msg((t = tls_ctx_new(c, keys, err, sizeof(err))) != NULL, "%s", err);
	ck_assert_has(tls_ctx_warnings(t), "test.json: tls.certificates[0].cert: ");
	ck_assert_has(tls_ctx_warnings(t), "/a.pem: expires on 20");
	ck_assert_has(tls_ctx_warnings(t), "in less than 14 days");
	ck_assert_has(tls_ctx_warnings(t), "\ntest.json: servers[0]: https://127.0.0.1:5001: "
	    "the certificate of this server is not verified");
	tls_ctx_free(t);
	conf_free(c);
}
END_TEST

/* Handshakes in memory */

/*
 * Runs a handshake between <cli> and <srv> over a BIO pair, then lets the
 * client read what follows it (TLS 1.3 session tickets). Returns 0, or -1
 * when either side fails.
 */
static int
handshake(SSL *cli, SSL *srv)
{
	BIO *bc, *bs;
	int i, rc = 0, rs = 0;
	char byte;

	ck_assert_int_eq(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
	SSL_set_bio(cli, bc, bc);
	SSL_set_bio(srv, bs, bs);
	SSL_set_connect_state(cli);
	for (i = 0; i < HANDSHAKE_STEPS && (rc != 1 || rs != 1); i++) {
		if (rc != 1 && (rc = SSL_do_handshake(cli)) != 1 &&
		    SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(cli, rc) != SSL_ERROR_WANT_WRITE)
			return -1;
		if (rs != 1 && (rs = SSL_do_handshake(srv)) != 1 &&
		    SSL_get_error(srv, rs) != SSL_ERROR_WANT_READ &&
		    SSL_get_error(srv, rs) != SSL_ERROR_WANT_WRITE)
			return -1;
	}
	ck_assert_int_lt(i, HANDSHAKE_STEPS);
	/* A TLS 1.3 client learns whether the server accepted its certificate only now. */
	rc = SSL_read(cli, &byte, 1);
	if (SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ)
		return -1;
	return 0;
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* A client SSL asking for <sni> (NULL: none), up to TLS version <max> (0: any). */
static SSL *
client_new(SSL_CTX *ctx, const char *sni, int max)
{
	SSL *s = SSL_new(ctx);

	ck_assert_ptr_nonnull(s);
	if (sni != NULL)
		ck_assert_int_eq(SSL_set_tlsext_host_name(s, sni), 1);
	if (max != 0)
		ck_assert_int_eq(SSL_set_max_proto_version(s, max), 1);
	return s;
}

/* Whether the server's certificate on <cli> is the one for <name>, with key type <id>. */
static void
assert_peer(SSL *cli, const char *name, int id)
{
	X509 *peer = SSL_get0_peer_certificate(cli);

	ck_assert_ptr_nonnull(peer);
	ck_assert_msg(X509_check_host(peer, name, 0, 0, NULL) == 1, "not the certificate of %s", name);
	ck_assert_int_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(peer)), id);
}

static struct tls_ctx *
ctx_of(struct conf *c)
{
	char err[2048] = "";
	struct tls_ctx *t;

	ck_assert_msg((t = tls_ctx_new(c, keys, err, sizeof(err))) != NULL, "%s", err);
	return t;
}

/* Connects a fresh client asking for <sni> and checks that <name>'s certificate comes. */
static void
assert_served(struct tls_ctx *t, SSL_CTX *cctx, const char *sni, const char *name, int id)
{
	SSL *cli = client_new(cctx, sni, 0), *srv = tls_server_new(t);

	ck_assert_ptr_nonnull(srv);
	ck_assert_int_eq(handshake(cli, srv), 0);
	assert_peer(cli, name, id);
	SSL_free(cli);
	SSL_free(srv);
}

START_TEST(test_handshake_sni)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *t;
	struct conf *c;

	X509_free(make_pair("a", 0, "DNS:example.com,DNS:*.example.com", -DAY, 90 * DAY));
	X509_free(make_pair("b", 0, "DNS:other.org", -DAY, 90 * DAY));
	c = conf_certs("a", "b", NULL);
	t = ctx_of(c);
	assert_served(t, cctx, "other.org", "other.org", EVP_PKEY_EC);
	assert_served(t, cctx, "OTHER.org", "other.org", EVP_PKEY_EC);
	assert_served(t, cctx, "example.com", "example.com", EVP_PKEY_EC);
	assert_served(t, cctx, "www.example.com", "www.example.com", EVP_PKEY_EC);
	assert_served(t, cctx, NULL, "example.com", EVP_PKEY_EC);
	assert_served(t, cctx, "nowhere.net", "example.com", EVP_PKEY_EC);
	tls_ctx_free(t);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/* ECDSA and RSA for the same names: ECDSA when the client can, else RSA. */
START_TEST(test_handshake_key_types)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *t;
	struct conf *c;
	SSL *cli, *srv;

	X509_free(make_pair("rsa", 1, "DNS:example.com", -DAY, 90 * DAY));
	X509_free(make_pair("ec", 0, "DNS:example.com", -DAY, 90 * DAY));
	c = conf_certs("rsa", "ec", NULL);
	t = ctx_of(c);
	assert_served(t, cctx, "example.com", "example.com", EVP_PKEY_EC);
	cli = client_new(cctx, "example.com", 0);
	ck_assert_int_eq(SSL_set1_sigalgs_list(cli, "rsa_pss_rsae_sha256:RSA+SHA256"), 1);
	srv = tls_server_new(t);
	ck_assert_int_eq(handshake(cli, srv), 0);
	assert_peer(cli, "example.com", EVP_PKEY_RSA);
	SSL_free(cli);
	SSL_free(srv);
	tls_ctx_free(t);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/*
 * A full handshake on <t> asking for <sni>, then a session to resume:
 * returned, owned by the caller.
 */
static SSL_SESSION *
session_from(struct tls_ctx *t, SSL_CTX *cctx, const char *sni, int max)
{
	SSL *cli = client_new(cctx, sni, max), *srv = tls_server_new(t);
	SSL_SESSION *sess;

	ck_assert_int_eq(handshake(cli, srv), 0);
	ck_assert_int_eq(SSL_session_reused(cli), 0);
	ck_assert_ptr_nonnull(sess = SSL_get1_session(cli));
	/* Freed without a shutdown, a connection spoils its session. */
	SSL_shutdown(cli);
	ck_assert_int_eq(SSL_SESSION_is_resumable(sess), 1);
	SSL_free(cli);
	SSL_free(srv);
	return sess;
}

/* Whether a handshake on <t> offering <sess> resumes it. */
static int
resumes(struct tls_ctx *t, SSL_CTX *cctx, SSL_SESSION *sess, const char *sni, int max)
{
	SSL *cli = client_new(cctx, sni, max), *srv = tls_server_new(t);
	int reused;

	ck_assert_int_eq(SSL_set_session(cli, sess), 1);
	ck_assert_int_eq(handshake(cli, srv), 0);
	reused = SSL_session_reused(cli);
	ck_assert_int_eq(SSL_session_reused(srv), reused);
	SSL_shutdown(cli);
	SSL_free(cli);
	SSL_free(srv);
	return reused;
}

static const int versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };

/* Another worker (another tls_ctx, the same keys) resumes a session, with its SNI cert too. */
START_TEST(test_resume_other_ctx)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *a, *b;
	SSL_SESSION *sess;
	struct conf *c;

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	X509_free(make_pair("b", 0, "DNS:other.org", -DAY, 90 * DAY));
	c = conf_certs("a", "b", NULL);
	a = ctx_of(c);
	b = ctx_of(c);
	sess = session_from(a, cctx, "example.com", versions[_i]);
	ck_assert_int_eq(SSL_SESSION_has_ticket(sess), 1);
	ck_assert_int_eq(resumes(a, cctx, sess, "example.com", versions[_i]), 1);
	ck_assert_int_eq(resumes(b, cctx, sess, "example.com", versions[_i]), 1);
	SSL_SESSION_free(sess);
	/* Through the SSL_CTX that SNI switches to. */
	sess = session_from(a, cctx, "other.org", versions[_i]);
	ck_assert_int_eq(resumes(b, cctx, sess, "other.org", versions[_i]), 1);
	SSL_SESSION_free(sess);
	tls_ctx_free(a);
	tls_ctx_free(b);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/* A ticket survives one rotation (the previous key), not two. */
START_TEST(test_resume_rotation)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *a, *b;
	SSL_SESSION *sess;
	struct conf *c;
	char err[256] = "";

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	c = conf_certs("a", NULL, NULL);
	a = ctx_of(c);
	b = ctx_of(c);
	sess = session_from(a, cctx, "example.com", versions[_i]);
	ck_assert_msg(tls_keys_rotate(keys, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(resumes(b, cctx, sess, "example.com", versions[_i]), 1);
	ck_assert_msg(tls_keys_rotate(keys, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(resumes(b, cctx, sess, "example.com", versions[_i]), 0);
	ck_assert_int_eq(resumes(a, cctx, sess, "example.com", versions[_i]), 0);
	SSL_SESSION_free(sess);
	tls_ctx_free(a);
	tls_ctx_free(b);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/* Other keys (another rondo): no resumption, a full handshake instead. */
START_TEST(test_resume_other_keys)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_keys *other;
	struct tls_ctx *a, *b;
	SSL_SESSION *sess;
	struct conf *c;
	char err[256] = "";

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	c = conf_certs("a", NULL, NULL);
	a = ctx_of(c);
	ck_assert_ptr_nonnull(other = tls_keys_new(err, sizeof(err)));
	ck_assert_ptr_nonnull(b = tls_ctx_new(c, other, err, sizeof(err)));
	sess = session_from(a, cctx, "example.com", 0);
	ck_assert_int_eq(resumes(b, cctx, sess, "example.com", 0), 0);
	SSL_SESSION_free(sess);
	tls_ctx_free(a);
	tls_ctx_free(b);
	tls_keys_free(other);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/* "protocols": ["TLSv1.3"] refuses a TLS 1.2 client. */
START_TEST(test_protocols)
{
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *t;
	struct conf *c;
	SSL *cli, *srv;

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	c = conf_certs("a", NULL, ", \"protocols\": [\"TLSv1.3\"]");
	t = ctx_of(c);
	cli = client_new(cctx, "example.com", TLS1_2_VERSION);
	srv = tls_server_new(t);
	ck_assert_int_eq(handshake(cli, srv), -1);
	SSL_free(cli);
	SSL_free(srv);
	ERR_clear_error();
	cli = client_new(cctx, "example.com", 0);
	srv = tls_server_new(t);
	ck_assert_int_eq(handshake(cli, srv), 0);
	ck_assert_int_eq(SSL_version(cli), TLS1_3_VERSION);
	SSL_free(cli);
	SSL_free(srv);
	tls_ctx_free(t);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/* "clientCA": no client certificate, no handshake; one signed by the CA: accepted. */
START_TEST(test_client_ca)
{
	SSL_CTX *cctx = client_ctx();
	EVP_PKEY *cak = key_new(0), *k = key_new(0);
	X509 *ca = cert_new(cak, NULL, -DAY, 90 * DAY, NULL, NULL), *x;
	struct tls_ctx *t;
	struct conf *c;
	SSL *cli, *srv;
	char extra[512];

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	write_pem(tmp("ca.pem"), ca, NULL);
	snprintf(extra, sizeof(extra), ", \"clientCA\": \"%s/ca.pem\"", dir);
	c = conf_certs("a", NULL, extra);
	t = ctx_of(c);
	cli = client_new(cctx, "example.com", 0);
	srv = tls_server_new(t);
	ck_assert_int_eq(handshake(cli, srv), -1);
	SSL_free(cli);
	SSL_free(srv);
	ERR_clear_error();
	x = cert_new(k, NULL, -DAY, 90 * DAY, ca, cak);
	cli = client_new(cctx, "example.com", 0);
	ck_assert_int_eq(SSL_use_certificate(cli, x), 1);
	ck_assert_int_eq(SSL_use_PrivateKey(cli, k), 1);
	srv = tls_server_new(t);
	ck_assert_int_eq(handshake(cli, srv), 0);
	ck_assert_ptr_nonnull(SSL_get0_peer_certificate(srv));
	SSL_free(cli);
	SSL_free(srv);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	tls_ctx_free(t);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

/*
 * tls_client_new towards an https backend whose certificate (for
 * backend.test) is its own CA in backendCA: the right name verifies, a wrong
 * one fails unless verify is off; an IP literal is checked against IP SANs.
 */
START_TEST(test_backend_verify)
{
	struct tls_ctx *srvt, *clit;
	struct conf *sc, *cc;
	SSL *cli, *srv;

	X509_free(make_pair("be", 0, "DNS:backend.test,IP:127.0.0.1", -DAY, 90 * DAY));
	sc = conf_certs("be", NULL, NULL);
	srvt = ctx_of(sc);
	cc = conf_of("{\"port\": 8080, \"tls\": {\"backendCA\": \"%s/be.pem\"},"
	    " \"servers\": [\"https://127.0.0.1:5001\"]}", dir);
	clit = ctx_of(cc);

	ck_assert_ptr_nonnull(cli = tls_client_new(clit, "backend.test", 1));
	ck_assert_str_eq(SSL_get_servername(cli, TLSEXT_NAMETYPE_host_name), "backend.test");
	srv = tls_server_new(srvt);
	ck_assert_int_eq(handshake(cli, srv), 0);
	ck_assert_int_eq(SSL_get_verify_result(cli), X509_V_OK);
	SSL_free(cli);
	SSL_free(srv);

	ck_assert_ptr_nonnull(cli = tls_client_new(clit, "127.0.0.1", 1));
	ck_assert_ptr_null(SSL_get_servername(cli, TLSEXT_NAMETYPE_host_name));
	srv = tls_server_new(srvt);
	ck_assert_int_eq(handshake(cli, srv), 0);
	SSL_free(cli);
	SSL_free(srv);

	ck_assert_ptr_nonnull(cli = tls_client_new(clit, "wrong.test", 1));
	srv = tls_server_new(srvt);
	ck_assert_int_eq(handshake(cli, srv), -1);
	ck_assert_int_eq(SSL_get_verify_result(cli), X509_V_ERR_HOSTNAME_MISMATCH);
	SSL_free(cli);
	SSL_free(srv);
	ERR_clear_error();

	ck_assert_ptr_nonnull(cli = tls_client_new(clit, "wrong.test", 0));
	srv = tls_server_new(srvt);
	ck_assert_int_eq(handshake(cli, srv), 0);
	SSL_free(cli);
	SSL_free(srv);

	tls_ctx_free(srvt);
	tls_ctx_free(clit);
	conf_free(sc);
	conf_free(cc);
}
END_TEST

/* Without backendCA, the system's store: a self-signed backend is refused. */
START_TEST(test_backend_system_store)
{
	struct tls_ctx *srvt, *clit;
	struct conf *sc, *cc;
	SSL *cli, *srv;

	X509_free(make_pair("be", 0, "DNS:backend.test", -DAY, 90 * DAY));
	sc = conf_certs("be", NULL, NULL);
	srvt = ctx_of(sc);
	cc = conf_of("{\"port\": 8080, \"servers\": [\"https://127.0.0.1:5001\"]}");
	clit = ctx_of(cc);
	ck_assert_ptr_nonnull(cli = tls_client_new(clit, "backend.test", 1));
	srv = tls_server_new(srvt);
	ck_assert_int_eq(handshake(cli, srv), -1);
	ck_assert_int_ne(SSL_get_verify_result(cli), X509_V_OK);
	SSL_free(cli);
	SSL_free(srv);
	tls_ctx_free(srvt);
	tls_ctx_free(clit);
	conf_free(sc);
	conf_free(cc);
}
END_TEST

/*
 * The transport over a real socket: a write that blocks inside OpenSSL is
 * retried by the session with more bytes gathered behind the same ones (a
 * body that grew while the client did not read). It must go through, every
 * byte in order, not fail with OpenSSL's "bad length".
 */
START_TEST(test_conn_retry_grows)
{
	static char head[100], body[40000], got[200000];
	SSL_CTX *cctx = client_ctx();
	struct tls_ctx *t;
	struct conf *c;
	struct conn k;
	struct iovec iov[2];
	SSL *cli;
	int sv[2], i, small = 4096, blocked = 0;
	size_t sent_body = 0, recvd = 0, want;
	ssize_t n;

	X509_free(make_pair("a", 0, "DNS:example.com", -DAY, 90 * DAY));
	c = conf_certs("a", NULL, NULL);
	t = ctx_of(c);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	conn_tls_init(&k, sv[0], tls_server_new(t));
	cli = client_new(cctx, "example.com", 0);
	SSL_set_fd(cli, sv[1]);
	SSL_set_connect_state(cli);
	for (i = 0; i < HANDSHAKE_STEPS && !k.handshaken; i++) {
		(void)conn_handshake(&k);
		(void)SSL_do_handshake(cli);
	}
	ck_assert(k.handshaken);
	memset(head, 'H', sizeof(head));
	for (i = 0; i < (int)sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	/* head + 8000 body bytes, gathered: it blocks while the client reads nothing */
	iov[0].iov_base = head;
	iov[0].iov_len = sizeof(head);
	iov[1].iov_base = body;
	iov[1].iov_len = 8000;
	for (i = 0; i < 1000 && !blocked; i++) {
		n = conn_send(&k, iov, 2);
		if (n == -1) {
			ck_assert_int_eq(errno, EAGAIN);
			blocked = 1;
		} else {
			recvd += (size_t)n;	/* went: start over, to fill the socket */
		}
	}
	ck_assert_msg(blocked, "the socket never filled");
	want = recvd;
	recvd = 0;
	/* the body grows before the retry, past what fits in one gathered write */
	iov[1].iov_len = sizeof(body);
	for (i = 0; i < 100000 && (iov[0].iov_len > 0 || sent_body < sizeof(body)); i++) {
		n = conn_send(&k, iov[0].iov_len > 0 ? iov : iov + 1, iov[0].iov_len > 0 ? 2 : 1);
		ck_assert_msg(n != -1 || errno == EAGAIN, "send: %s (%s)", strerror(errno),
		    k.error != NULL ? k.error : "-");
		if (n > 0) {
			size_t h = (size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len;

			iov[0].iov_base = (char *)iov[0].iov_base + h;
			iov[0].iov_len -= h;
			sent_body += (size_t)n - h;
			iov[1].iov_base = body + sent_body;
			iov[1].iov_len = sizeof(body) - sent_body;
		}
		/* the client reads a little now and then */
		if ((n = SSL_read(cli, got, sizeof(got))) > 0)
			recvd += (size_t)n;
	}
	ck_assert_uint_eq(sent_body, sizeof(body));
	for (i = 0; i < 100000 && recvd < want + sizeof(head) + sizeof(body); i++)
		if ((n = SSL_read(cli, got, sizeof(got))) > 0)
			recvd += (size_t)n;
	ck_assert_uint_eq(recvd, want + sizeof(head) + sizeof(body));
	SSL_free(cli);
	close(sv[1]);
	conn_close(&k);
	tls_ctx_free(t);
	conf_free(c);
	SSL_CTX_free(cctx);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("sni");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_sni_select, 0, NELEM(sni_cases));
	tcase_add_test(tc, test_sni_no_certs);
	suite_add_tcase(s, tc);

	tc = tcase_create("contexts");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ctx_good);
	tcase_add_test(tc, test_ctx_none);
	tcase_add_loop_test(tc, test_ctx_bad, 0, NELEM(bad_cases));
	tcase_add_test(tc, test_ctx_warnings);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshakes");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_handshake_sni);
	tcase_add_test(tc, test_handshake_key_types);
	tcase_add_loop_test(tc, test_resume_other_ctx, 0, NELEM(versions));
	tcase_add_loop_test(tc, test_resume_rotation, 0, NELEM(versions));
	tcase_add_test(tc, test_resume_other_keys);
	tcase_add_test(tc, test_protocols);
	tcase_add_test(tc, test_client_ca);
	tcase_add_test(tc, test_backend_verify);
	tcase_add_test(tc, test_backend_system_store);
	tcase_add_test(tc, test_conn_retry_grows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	/* Fork mode is Check's default; CK_FORK=no in the environment to debug. */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
