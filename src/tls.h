/*
 * TLS contexts (OpenSSL 3), built by the master from a struct conf before it
 * forks a generation, so that a broken certificate fails `rondo -t` and a
 * reload rather than a worker. Holds the server contexts (certificates chosen
 * by SNI, protocols, ciphers, client certificates), the client context for
 * https backends, and the session ticket keys that every worker shares.
 *
 * Leaf module: no event loop, no logging; errors fill the caller's buffer.
 * The transport that moves bytes through an SSL lives elsewhere.
 */
#ifndef RONDO_TLS_H
#define RONDO_TLS_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/ssl.h>

struct conf;
struct tls_ctx;
struct tls_keys;

/* A certificate's DNS names, as tls_sni_select sees them. */
struct tls_names {
	const char *const *name;	/* "example.com", "*.example.com" */
	size_t n;
};

/*
 * Which of <ncerts> certificates serves the server name <sni>: the first
 * with <sni> among its names (case-insensitive, one trailing dot ignored),
 * else the first with a "*.rest" name where <sni> is one label more than
 * "rest" ("*.example.com" covers "a.example.com", not "a.b.example.com" nor
 * "example.com"), else 0. <sni> may be NULL (no SNI): 0. Pure.
 */
size_t tls_sni_select(const struct tls_names *certs, size_t ncerts, const char *sni);

/*
 * The session ticket keys: a current and a previous key (name, AES-256 key,
 * HMAC key), drawn with RAND_bytes, in an anonymous MAP_SHARED mapping so
 * that every process forked afterwards (each generation's workers) reads the
 * same keys and a rotation by the master reaches them all. Never on disk, and
 * left out of core dumps. Returns NULL with <err> filled on failure.
 */
struct tls_keys *tls_keys_new(char *err, size_t errlen);

/*
 * Draws a new current key; the current one becomes the previous one (still
 * accepted, and tickets under it are renewed); the previous one is dropped.
 * Called by the master every tls.sessionTicketRotation. Returns 0, or -1
 * with <err> filled (the keys are then unchanged).
 */
int tls_keys_rotate(struct tls_keys *k, char *err, size_t errlen);

void tls_keys_free(struct tls_keys *k);

/*
 * Builds the contexts that <c> asks for: the server ones when tls.port is
 * set (reading every certificate, key and clientCA file now), the client one
 * when a server is https:// or tls.backendCA is set. <keys> (kept, not owned)
 * encrypt the session tickets. Returns a new tls_ctx (even one with neither
 * context, for a configuration without TLS), or NULL with <err> holding one
 * line per problem, each as "FILE: tls.certificates[1].key: PEM: reason".
 * Expiring certificates and servers with "verify": false are not errors:
 * see tls_ctx_warnings.
 */
struct tls_ctx *tls_ctx_new(const struct conf *c, struct tls_keys *keys, char *err, size_t errlen);

void tls_ctx_free(struct tls_ctx *t);

/* What deserves a warning at start, one line per problem; "" when none. */
const char *tls_ctx_warnings(const struct tls_ctx *t);

/* Prints one line per certificate: its file, key type, DNS names and expiry (for -t). */
void tls_ctx_describe(const struct tls_ctx *t, FILE *f);

/*
 * A new server-side SSL for an accepted connection, or NULL (no TLS
 * listener, or out of memory). The caller attaches the socket and owns it.
 */
SSL *tls_server_new(struct tls_ctx *t);

/*
 * A new client-side SSL towards the https backend <host> (a name or an IP
 * literal as written in its URL): SNI for a name, and with <verify> the
 * peer's chain and its name or address checked. NULL when there is no client
 * context or on failure. The caller attaches the socket and owns it.
 */
SSL *tls_client_new(struct tls_ctx *t, const char *host, int verify);

/*
 * Makes the client SSL <s> resume the session in *slot (if any), and keep in
 * *slot every session the backend grants it from now on (at the end of a
 * TLS 1.2 handshake; TLS 1.3 tickets after the handshake, whenever they are
 * read), the previous one freed. Connections to the same backend share a
 * slot. <slot> must outlive <s>; its owner frees the last session with
 * SSL_SESSION_free. Returns 0, or -1 (then <s> starts a full handshake,
 * and may still fill *slot).
 */
int tls_client_resume(SSL *s, SSL_SESSION **slot);

#endif
