/*
 * TLS contexts from the configuration, with OpenSSL 3.
 *
 * Server side: certificates that cover the same DNS names with different key
 * types (ECDSA and RSA) share one SSL_CTX, where OpenSSL picks the one the
 * client's signature algorithms allow; each other set of names gets an SSL_CTX
 * of its own, and the servername callback moves a connection to the one its
 * SNI names (tls_sni_select). Every server SSL_CTX is made the same way, so
 * moving changes only the certificate.
 *
 * Sessions resume with tickets only: the internal cache is off, and the ticket
 * keys live in memory shared by every process, so any worker of any
 * generation resumes a session that another one started.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "tls.h"

#define TLS_KEY_NAME_LEN	16
#define TLS_KEY_LEN		32		/* AES-256 and HMAC-SHA256 keys */
#define TLS_FILE_MAX		(1024 * 1024)	/* a PEM file larger than this is refused */
#define TLS_EXPIRY_WARN_S	(14 * 86400)	/* warn this long before a certificate expires */
#define TLS_WARN_MAX		4096
#define TLS_READ_TRIES		1000		/* seqlock retries before taking what was read */
#define TLS_SID_CTX		"rondo"
/* TLS 1.2: forward secrecy and AEAD only. */
#define TLS_CIPHERS_DEFAULT	"ECDHE+AESGCM:ECDHE+CHACHA20"

enum tls_key_type { TLS_KEY_RSA = 1, TLS_KEY_EC = 2, TLS_KEY_ED25519 = 4, TLS_KEY_OTHER = 8 };

struct tls_key {
	unsigned char name[TLS_KEY_NAME_LEN];	/* sent in the clear in each ticket */
	unsigned char aes[TLS_KEY_LEN];
	unsigned char hmac[TLS_KEY_LEN];
};

/*
 * Shared by every process: the master writes (tls_keys_rotate), workers read
 * through a sequence lock: seq is odd while a write is in progress.
 */
struct tls_keys {
	_Atomic uint32_t seq;
	struct tls_key cur;		/* encrypts new tickets */
	struct tls_key prev;		/* still decrypts; its tickets are renewed */
};

/* One of tls.certificates, once loaded. */
struct tls_cert {
	const char *file;		/* the conf's string */
	size_t group;			/* index in tls_ctx.groups */
	enum tls_key_type type;
	char **names;			/* subjectAltName DNS names */
	size_t nnames;
	char expiry[32];		/* "2027-03-01 12:00:00 UTC" */
};

/* One server SSL_CTX: the certificates for one set of names. */
struct tls_group {
	SSL_CTX *ctx;
	unsigned types;			/* enum tls_key_type bits already in ctx */
	size_t first;			/* the tls_cert whose names it serves */
};

struct tls_ctx {
	struct tls_keys *keys;		/* not owned */
	size_t ncerts;
	struct tls_cert *certs;
	size_t ngroups;
	struct tls_group *groups;
	struct tls_names *sni;		/* per group, for tls_sni_select */
	SSL_CTX *client;		/* NULL: no https backend */
	char warnings[TLS_WARN_MAX];
	size_t wlen;
};

/* Problems, one line each, in the caller's buffer (as conf.c collects them). */
struct tls_errs {
	char *buf;
	size_t len;
	size_t used;
	unsigned count;
	const char *conf;		/* the configuration file, first on each line */
};

static void
tls_vappend(char *buf, size_t len, size_t *used, const char *prefix, const char *fmt, va_list ap)
{
	int r;

	if (len == 0 || *used >= len - 1)
		return;
	if (*used > 0)
		buf[(*used)++] = '\n';
	r = snprintf(buf + *used, len - *used, "%s: ", prefix);
	if (r > 0)
		*used += (size_t)r;
	if (*used >= len - 1) {
		*used = len - 1;
		return;
	}
	r = vsnprintf(buf + *used, len - *used, fmt, ap);
	if (r > 0)
		*used += (size_t)r;
	if (*used >= len)
		*used = len - 1;
}

static void __attribute__((format(printf, 2, 3)))
tls_err(struct tls_errs *e, const char *fmt, ...)
{
	va_list ap;

	e->count++;
	va_start(ap, fmt);
	tls_vappend(e->buf, e->len, &e->used, e->conf, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
tls_warn(struct tls_ctx *t, const char *conf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tls_vappend(t->warnings, sizeof(t->warnings), &t->wlen, conf, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for its latest error, and the queue emptied. */
static const char *
tls_ossl_why(void)
{
	unsigned long code = ERR_peek_last_error();
	const char *why = code != 0 ? ERR_reason_error_string(code) : NULL;

	ERR_clear_error();
	return why != NULL ? why : "unknown OpenSSL error";
}

/* SNI */

/* Whether <a> and <b> (<n> bytes of <a>, all of <b>) are equal, ASCII case ignored. */
static int
tls_name_eq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

size_t
tls_sni_select(const struct tls_names *certs, size_t ncerts, const char *sni)
{
	const char *rest;
	size_t i, j, n;

	if (sni == NULL || (n = strlen(sni)) == 0)
		return 0;
	if (sni[n - 1] == '.')
		n--;
	for (i = 0; i < ncerts; i++)
		for (j = 0; j < certs[i].n; j++)
			if (certs[i].name[j][0] != '*' && tls_name_eq(sni, n, certs[i].name[j]))
				return i;
	/* One label, not empty, before the first dot; the rest against "*.rest". */
	if ((rest = memchr(sni, '.', n)) == NULL || rest == sni)
		return 0;
	for (i = 0; i < ncerts; i++)
		for (j = 0; j < certs[i].n; j++)
			if (strncmp(certs[i].name[j], "*.", 2) == 0 &&
			    tls_name_eq(rest + 1, n - (size_t)(rest + 1 - sni), certs[i].name[j] + 2))
				return i;
	return 0;
}

/* Ticket keys */

static int
tls_key_draw(struct tls_key *k, char *err, size_t errlen)
{
	if (RAND_bytes((unsigned char *)k, sizeof(*k)) != 1) {
		snprintf(err, errlen, "session ticket keys: RAND_bytes: %s", tls_ossl_why());
		return -1;
	}
	return 0;
}

struct tls_keys *
tls_keys_new(char *err, size_t errlen)
{
	struct tls_keys *k;

	k = mmap(NULL, sizeof(*k), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (k == MAP_FAILED) {
		snprintf(err, errlen, "session ticket keys: mmap: %s", strerror(errno));
		return NULL;
	}
	/* Best effort: a core file should not carry the keys. */
	(void)madvise(k, sizeof(*k), MADV_DONTDUMP);
	atomic_init(&k->seq, 0);
	if (tls_key_draw(&k->cur, err, errlen) == -1 || tls_key_draw(&k->prev, err, errlen) == -1) {
		munmap(k, sizeof(*k));
		return NULL;
	}
	return k;
}

int
tls_keys_rotate(struct tls_keys *k, char *err, size_t errlen)
{
	struct tls_key next;
	uint32_t seq;

	if (tls_key_draw(&next, err, errlen) == -1)
		return -1;
	seq = atomic_load_explicit(&k->seq, memory_order_relaxed);
	atomic_store_explicit(&k->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	k->prev = k->cur;
	k->cur = next;
	atomic_store_explicit(&k->seq, seq + 2, memory_order_release);
	OPENSSL_cleanse(&next, sizeof(next));
	return 0;
}

/*
 * Copies both keys out of the shared mapping. The copy may race with a
 * rotation in the master; the sequence number tells, and the copy is made
 * again. A master that died mid-write leaves seq odd: after TLS_READ_TRIES
 * the copy is taken as it is (the workers are about to exit with it anyway).
 */
static void
tls_keys_read(const struct tls_keys *k, struct tls_key *cur, struct tls_key *prev)
{
	uint32_t s1, s2;
	int i;

	for (i = 0; i < TLS_READ_TRIES; i++) {
		s1 = atomic_load_explicit(&k->seq, memory_order_acquire);
		*cur = k->cur;
		*prev = k->prev;
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&k->seq, memory_order_relaxed);
		if (s1 == s2 && (s1 & 1) == 0)
			return;
	}
}

void
tls_keys_free(struct tls_keys *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	munmap(k, sizeof(*k));
}

/*
 * Encrypts a new ticket under the current key (enc 1), or finds the key of a
 * ticket by its name (enc 0): 1 for the current key, 2 for the previous one
 * (OpenSSL then issues a fresh ticket), 0 for an unknown name (a full
 * handshake), -1 on error. Runs inside the handshake, in a worker.
 *
 * In TLS 1.3 every resumption gets a fresh ticket (2) whatever the key:
 * clients use a ticket once (RFC 8446, C.4), and an OpenSSL client will not
 * offer the one it resumed with again, so without a new ticket every other
 * connection of such a client would be a full handshake.
 */
static int
tls_ticket_cb(SSL *s, unsigned char name[TLS_KEY_NAME_LEN], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
	struct tls_key cur, prev;
	const struct tls_key *k;
	OSSL_PARAM params[3];
	int rc = 1;

	tls_keys_read(t->keys, &cur, &prev);
	if (enc) {
		k = &cur;
		memcpy(name, k->name, TLS_KEY_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1 ||
		    EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
			rc = -1;
	} else {
		if (memcmp(name, cur.name, TLS_KEY_NAME_LEN) == 0) {
			k = &cur;
			if (SSL_version(s) == TLS1_3_VERSION)
				rc = 2;
		} else if (memcmp(name, prev.name, TLS_KEY_NAME_LEN) == 0) {
			k = &prev;
			rc = 2;
		} else {
			rc = 0;
			goto done;
		}
		if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
			rc = -1;
	}
	if (rc != -1) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
		    (void *)k->hmac, sizeof(k->hmac));
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[2] = OSSL_PARAM_construct_end();
		if (EVP_MAC_CTX_set_params(hctx, params) != 1)
			rc = -1;
	}
done:
	OPENSSL_cleanse(&cur, sizeof(cur));
	OPENSSL_cleanse(&prev, sizeof(prev));
	return rc;
}

/* Certificates */

/*
 * Reads the PEM file <file> named at <jpath> into a memory BIO. NULL with
 * the problem recorded when it cannot be read or holds no PEM block at all.
 */
static BIO *
tls_pem_open(struct tls_errs *e, const char *jpath, const char *file)
{
	char *buf;
	size_t len = 0;
	ssize_t n = 0;
	BIO *bio;
	int fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		tls_err(e, "%s: %s: cannot read: %s", jpath, file, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(TLS_FILE_MAX + 1)) == NULL) {
		close(fd);
		tls_err(e, "%s: %s: out of memory", jpath, file);
		return NULL;
	}
	while (len <= TLS_FILE_MAX) {
		n = read(fd, buf + len, TLS_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n == -1) {
		tls_err(e, "%s: %s: cannot read: %s", jpath, file, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (len > TLS_FILE_MAX) {
		tls_err(e, "%s: %s: file too large (more than 1 MiB)", jpath, file);
		goto fail;
	}
	buf[len] = '\0';
	if (strstr(buf, "-----BEGIN ") == NULL) {
		tls_err(e, "%s: %s: not a PEM file (no \"-----BEGIN\" line)", jpath, file);
		goto fail;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL || BIO_write(bio, buf, (int)len) != (int)len) {
		BIO_free(bio);
		tls_err(e, "%s: %s: out of memory", jpath, file);
		goto fail;
	}
	OPENSSL_cleanse(buf, len);	/* it may be a private key */
	free(buf);
	return bio;
fail:
	if (fd != -1)
		close(fd);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return NULL;
}

/* Refuses to prompt for the passphrase of an encrypted key. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * The certificates in PEM file <file>: the first (the leaf) returned, the
 * others pushed on <chain> when it is not NULL. NULL with the problem recorded.
 */
static X509 *
tls_pem_certs(struct tls_errs *e, const char *jpath, const char *file, STACK_OF(X509) *chain)
{
	X509 *x, *ca;
	BIO *bio;

	if ((bio = tls_pem_open(e, jpath, file)) == NULL)
		return NULL;
	if ((x = PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL)) == NULL) {
		ERR_clear_error();
		tls_err(e, "%s: %s: no certificate in the file", jpath, file);
		BIO_free(bio);
		return NULL;
	}
	while (chain != NULL && (ca = PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL)) != NULL)
		if (sk_X509_push(chain, ca) == 0) {
			X509_free(ca);
			break;
		}
	ERR_clear_error();	/* the end of the file, as an error */
	BIO_free(bio);
	return x;
}

static EVP_PKEY *
tls_pem_key(struct tls_errs *e, const char *jpath, const char *file)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if ((bio = tls_pem_open(e, jpath, file)) == NULL)
		return NULL;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL)) == NULL) {
		ERR_clear_error();
		tls_err(e, "%s: %s: no private key in the file (or an encrypted one)", jpath, file);
	}
	BIO_free(bio);
	return pkey;
}

/* <when> as "2027-03-01 12:00:00 UTC" into <buf>. */
static void
tls_time_str(const ASN1_TIME *when, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(when, &tm) != 1 || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(unreadable date)");
}

/* The subjectAltName DNS names of <x> into <tc>. Returns 0, or -1 out of memory. */
static int
tls_cert_names(struct tls_cert *tc, X509 *x)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gen;
	const unsigned char *p;
	int i, n, len, rc = 0;

	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) == NULL)
		return 0;
	n = sk_GENERAL_NAME_num(gens);
	if ((tc->names = calloc((size_t)n + 1, sizeof(*tc->names))) == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_DNS)
			continue;
		p = ASN1_STRING_get0_data(gen->d.dNSName);
		len = ASN1_STRING_length(gen->d.dNSName);
		if (len <= 0 || memchr(p, '\0', (size_t)len) != NULL)
			continue;	/* a name no client could send */
		if ((tc->names[tc->nnames] = strndup((const char *)p, (size_t)len)) == NULL)
			rc = -1;
		else
			tc->nnames++;
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

static enum tls_key_type
tls_key_type(const EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return TLS_KEY_RSA;
	case EVP_PKEY_EC:
		return TLS_KEY_EC;
	case EVP_PKEY_ED25519:
		return TLS_KEY_ED25519;
	default:
		return TLS_KEY_OTHER;
	}
}

static const char *
tls_key_type_name(enum tls_key_type type)
{
	return type == TLS_KEY_RSA ? "RSA" : type == TLS_KEY_EC ? "ECDSA" :
	    type == TLS_KEY_ED25519 ? "Ed25519" : "other key type";
}

/* Whether certificates <a> and <b> have the same DNS names, in any order. */
static int
tls_same_names(const struct tls_cert *a, const struct tls_cert *b)
{
	size_t i, j;

	if (a->nnames != b->nnames)
		return 0;
	for (i = 0; i < a->nnames; i++) {
		for (j = 0; j < b->nnames; j++)
			if (strcasecmp(a->names[i], b->names[j]) == 0)
				break;
		if (j == b->nnames)
			return 0;
	}
	return 1;
}

/* Contexts */

static int tls_servername_cb(SSL *s, int *alert, void *arg);

/*
 * A server SSL_CTX with every setting from "tls" but the certificates. The
 * ciphers, ciphersuites and clientCA were checked by tls_server_check.
 */
static SSL_CTX *
tls_server_ctx(struct tls_ctx *t, const struct conf *c)
{
	const struct conf_tls *ct = &c->tls;
	STACK_OF(X509_NAME) *cas;
	SSL_CTX *ctx;
	long timeout_s;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	timeout_s = (long)(2 * ct->ticket_rotation_ms / 1000);	/* a ticket lives as long as its key */
	SSL_CTX_set_app_data(ctx, t);
	/*
	 * The transport (conn_tls.c) retries a blocked write with the same bytes,
	 * possibly moved (a buffer compacted meanwhile) or followed by more. A
	 * peer's close without close_notify reads as the end of the stream too,
	 * but marked as not clean (conn_tls.c): a body delimited by the close
	 * is then not vouched for.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_read_ahead(ctx, 1);	/* many records per read(2), not two reads per record */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, timeout_s);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	if (SSL_CTX_set_min_proto_version(ctx,
	    (ct->protocols & CONF_TLS_V1_2) ? TLS1_2_VERSION : TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx,
	    (ct->protocols & CONF_TLS_V1_3) ? TLS1_3_VERSION : TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, ct->ciphers != NULL ? ct->ciphers : TLS_CIPHERS_DEFAULT) != 1 ||
	    (ct->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, ct->ciphersuites) != 1) ||
	    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CTX,
	    sizeof(TLS_SID_CTX) - 1) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb) != 1)
		goto fail;
	if (ct->client_ca != NULL) {
		if (SSL_CTX_load_verify_file(ctx, ct->client_ca) != 1 ||
		    (cas = SSL_load_client_CA_file(ct->client_ca)) == NULL)
			goto fail;
		SSL_CTX_set_client_CA_list(ctx, cas);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The settings common to every certificate, checked once so that each
 * problem is told once: ciphers, ciphersuites, clientCA.
 */
static void
tls_server_check(struct tls_errs *e, const struct conf *c)
{
	const struct conf_tls *ct = &c->tls;
	SSL_CTX *ctx;
	X509 *x;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(e, "tls: %s", tls_ossl_why());
		return;
	}
	if (ct->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ct->ciphers) != 1) {
		ERR_clear_error();
		tls_err(e, "tls.ciphers: no cipher matches \"%s\"", ct->ciphers);
	}
	if (ct->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, ct->ciphersuites) != 1) {
		ERR_clear_error();
		tls_err(e, "tls.ciphersuites: \"%s\" is not a list of TLS 1.3 cipher suites "
		    "such as \"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\"", ct->ciphersuites);
	}
	if (ct->client_ca != NULL && (x = tls_pem_certs(e, "tls.clientCA", ct->client_ca, NULL)) != NULL) {
		X509_free(x);
		if (SSL_CTX_load_verify_file(ctx, ct->client_ca) != 1)
			tls_err(e, "tls.clientCA: %s: %s", ct->client_ca, tls_ossl_why());
	}
	SSL_CTX_free(ctx);
}

/*
 * Loads tls.certificates[<i>] into <tc> and into the SSL_CTX of its group,
 * making the group when it is the first with its names and key type.
 */
static void
tls_cert_load(struct tls_ctx *t, struct tls_errs *e, const struct conf *c, size_t i)
{
	const struct conf_tls_cert *cc = &c->tls.certs[i];
	struct tls_cert *tc = &t->certs[i];
	char cpath[64], kpath[64];
	STACK_OF(X509) *chain;
	struct tls_group *g;
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	time_t soon;
	size_t j;
	int k;

	snprintf(cpath, sizeof(cpath), "tls.certificates[%zu].cert", i);
	snprintf(kpath, sizeof(kpath), "tls.certificates[%zu].key", i);
	tc->file = cc->cert;
	if ((chain = sk_X509_new_null()) == NULL) {
		tls_err(e, "%s: out of memory", cpath);
		return;
	}
	x = tls_pem_certs(e, cpath, cc->cert, chain);
	pkey = tls_pem_key(e, kpath, cc->key);
	if (x == NULL || pkey == NULL)
		goto done;
	if (X509_check_private_key(x, pkey) != 1) {
		ERR_clear_error();
		tls_err(e, "%s: %s: does not match the certificate %s", kpath, cc->key, cc->cert);
		goto done;
	}
	tls_time_str(X509_get0_notAfter(x), tc->expiry, sizeof(tc->expiry));
	soon = time(NULL) + TLS_EXPIRY_WARN_S;
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		tls_err(e, "%s: %s: expired on %s", cpath, cc->cert, tc->expiry);
		goto done;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0)
		tls_warn(t, c->path, "%s: %s: expires on %s, in less than 14 days",
		    cpath, cc->cert, tc->expiry);
	tc->type = tls_key_type(pkey);
	if (tls_cert_names(tc, x) == -1) {
		tls_err(e, "%s: out of memory", cpath);
		goto done;
	}
	if (tc->nnames == 0)
		tls_warn(t, c->path, "%s: %s: no DNS name in subjectAltName: served only to "
		    "clients whose server name matches no other certificate%s", cpath, cc->cert,
		    i == 0 ? "" : " (and only if it were first)");
	if (e->count > 0)
		goto done;	/* something is wrong already: no more SSL_CTX */
	for (j = 0; j < t->ngroups; j++)
		if (!(t->groups[j].types & tc->type) &&
		    tls_same_names(&t->certs[t->groups[j].first], tc))
			break;
	g = &t->groups[j];
	if (j == t->ngroups) {
		if ((g->ctx = tls_server_ctx(t, c)) == NULL) {
			tls_err(e, "%s: %s", cpath, tls_ossl_why());
			goto done;
		}
		g->first = i;
		t->sni[j].name = (const char *const *)tc->names;
		t->sni[j].n = tc->nnames;
		t->ngroups++;
	}
	tc->group = j;
	if (SSL_CTX_use_certificate(g->ctx, x) != 1) {
		tls_err(e, "%s: %s: %s", cpath, cc->cert, tls_ossl_why());
		goto done;
	}
	for (k = 0; k < sk_X509_num(chain); k++)
		if (SSL_CTX_add1_chain_cert(g->ctx, sk_X509_value(chain, k)) != 1) {
			tls_err(e, "%s: %s: chain: %s", cpath, cc->cert, tls_ossl_why());
			goto done;
		}
	if (SSL_CTX_use_PrivateKey(g->ctx, pkey) != 1 || SSL_CTX_check_private_key(g->ctx) != 1) {
		tls_err(e, "%s: %s: %s", kpath, cc->key, tls_ossl_why());
		goto done;
	}
	g->types |= tc->type;
done:
	X509_free(x);
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(chain, X509_free);
}

/* The ex_data slot of a client SSL where tls_client_resume keeps its session slot. */
static int tls_resume_idx = -1;

/*
 * A backend granted a session (at the end of a TLS 1.2 handshake, or a
 * TLS 1.3 ticket, which comes after it): a copy replaces the one kept for
 * the next connection. A copy, because the SSL holds <sess> as its own and
 * OpenSSL marks it not resumable when the SSL is freed without a
 * close_notify, as rondo frees them (conn_tls.c). Returns 0: <sess> is left
 * to OpenSSL.
 */
static int
tls_client_session_cb(SSL *s, SSL_SESSION *sess)
{
	SSL_SESSION **slot = tls_resume_idx != -1 ? SSL_get_ex_data(s, tls_resume_idx) : NULL;
	SSL_SESSION *copy;

	if (slot == NULL || (copy = SSL_SESSION_dup(sess)) == NULL)
		return 0;
	SSL_SESSION_free(*slot);
	*slot = copy;
	return 0;
}

/*
 * The client SSL_CTX for https backends: TLS 1.2 at least, peers verified by
 * default. Sessions are kept by the caller (tls_client_resume), not in
 * OpenSSL's cache. A backend that closes without close_notify ends the
 * stream as a plain one would (many servers do so, and the HTTP framing
 * tells most responses whole), marked not clean for the one whose body the
 * close delimits.
 */
static void
tls_client_ctx(struct tls_ctx *t, struct tls_errs *e, const struct conf *c)
{
	const char *ca = c->tls.backend_ca;
	X509 *x;

	if (ca != NULL) {
		if ((x = tls_pem_certs(e, "tls.backendCA", ca, NULL)) == NULL)
			return;
		X509_free(x);
	}
	if ((t->client = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_err(e, "tls: %s", tls_ossl_why());
		return;
	}
	SSL_CTX_set_mode(t->client, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(t->client, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_read_ahead(t->client, 1);
	SSL_CTX_set_verify(t->client, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(t->client,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(t->client, tls_client_session_cb);
	if (tls_resume_idx == -1)
		tls_resume_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (SSL_CTX_set_min_proto_version(t->client, TLS1_2_VERSION) != 1)
		tls_err(e, "tls: %s", tls_ossl_why());
	else if (ca != NULL && SSL_CTX_load_verify_file(t->client, ca) != 1)
		tls_err(e, "tls.backendCA: %s: %s", ca, tls_ossl_why());
	else if (ca == NULL && SSL_CTX_set_default_verify_paths(t->client) != 1)
		tls_err(e, "tls: the system's CA certificates: %s", tls_ossl_why());
}

struct tls_ctx *
tls_ctx_new(const struct conf *c, struct tls_keys *keys, char *err, size_t errlen)
{
	struct tls_errs e = { err, errlen, 0, 0, c->path };
	struct tls_ctx *t;
	size_t i, n = c->tls.ncerts;
	int https = 0;

	if (errlen > 0)
		err[0] = '\0';
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (n > 0 && ((t->certs = calloc(n, sizeof(*t->certs))) == NULL ||
	    (t->groups = calloc(n, sizeof(*t->groups))) == NULL ||
	    (t->sni = calloc(n, sizeof(*t->sni))) == NULL))) {
		tls_err(&e, "tls: out of memory");
		goto fail;
	}
	t->keys = keys;
	t->ncerts = n;
	if (c->tls.enabled) {
		tls_server_check(&e, c);
		for (i = 0; i < n; i++)
			tls_cert_load(t, &e, c, i);
	}
	for (i = 0; i < c->nbackends; i++) {
		https |= c->backends[i].tls;
		if (c->backends[i].tls && c->backends[i].no_verify)
			tls_warn(t, c->path, "servers[%zu]: %s: the certificate of this server is "
			    "not verified (\"verify\": false)", i, c->backends[i].url);
	}
	if (https || c->tls.backend_ca != NULL)
		tls_client_ctx(t, &e, c);
	if (e.count > 0)
		goto fail;
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->ngroups; i++)
		SSL_CTX_free(t->groups[i].ctx);
	for (i = 0; i < t->ncerts && t->certs != NULL; i++) {
		for (j = 0; j < t->certs[i].nnames; j++)
			free(t->certs[i].names[j]);
		free(t->certs[i].names);
	}
	SSL_CTX_free(t->client);
	free(t->certs);
	free(t->groups);
	free(t->sni);
	free(t);
}

const char *
tls_ctx_warnings(const struct tls_ctx *t)
{
	return t->warnings;
}

void
tls_ctx_describe(const struct tls_ctx *t, FILE *f)
{
	const struct tls_cert *tc;
	size_t i, j;

	for (i = 0; i < t->ncerts; i++) {
		tc = &t->certs[i];
		fprintf(f, "rondo: certificate tls.certificates[%zu]: %s (%s): ", i, tc->file,
		    tls_key_type_name(tc->type));
		for (j = 0; j < tc->nnames; j++)
			fprintf(f, "%s%s", j > 0 ? ", " : "", tc->names[j]);
		fprintf(f, "%s; expires %s\n", tc->nnames == 0 ? "(no DNS name)" : "", tc->expiry);
	}
}

/*
 * Moves a connection to the SSL_CTX whose certificates cover the name the
 * client asked for; the first one serves the rest. Runs in the handshake.
 */
static int
tls_servername_cb(SSL *s, int *alert, void *arg)
{
	struct tls_ctx *t = arg;
	size_t g;

	(void)alert;
	g = tls_sni_select(t->sni, t->ngroups, SSL_get_servername(s, TLSEXT_NAMETYPE_host_name));
	if (SSL_get_SSL_CTX(s) != t->groups[g].ctx && SSL_set_SSL_CTX(s, t->groups[g].ctx) == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

SSL *
tls_server_new(struct tls_ctx *t)
{
	SSL *s;

	if (t->ngroups == 0 || (s = SSL_new(t->groups[0].ctx)) == NULL)
		return NULL;
	SSL_set_accept_state(s);
	return s;
}

SSL *
tls_client_new(struct tls_ctx *t, const char *host, int verify)
{
	unsigned char ip[16];
	int literal;
	SSL *s;

	if (t->client == NULL || (s = SSL_new(t->client)) == NULL)
		return NULL;
	literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	/* SNI carries names only (RFC 6066); an address is checked against the IP SANs. */
	if (!literal && SSL_set_tlsext_host_name(s, host) != 1)
		goto fail;
	if (!verify)
		SSL_set_verify(s, SSL_VERIFY_NONE, NULL);
	else if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host) != 1 :
	    SSL_set1_host(s, host) != 1)
		goto fail;
	SSL_set_connect_state(s);
	return s;
fail:
	SSL_free(s);
	return NULL;
}

int
tls_client_resume(SSL *s, SSL_SESSION **slot)
{
	SSL_SESSION *copy;
	int r;

	if (tls_resume_idx == -1 || SSL_set_ex_data(s, tls_resume_idx, slot) != 1)
		return -1;
	if (*slot == NULL)
		return 0;
	/*
	 * A copy: OpenSSL marks the session of a connection freed without a
	 * TLS close as not resumable, and backend connections end that way
	 * (idle timeout, pool drain). The kept one must stay usable for the next.
	 */
	if ((copy = SSL_SESSION_dup(*slot)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	r = SSL_set_session(s, copy);
	SSL_SESSION_free(copy);		/* s holds its own reference */
	if (r != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}
