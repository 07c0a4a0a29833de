/*
 * "admin": the admin listener (its address, 127.0.0.1:9090 unless given)
 * and the token its requests must show, written in the file or read now
 * from a file of its own. The default address is filled in and checked
 * against the other listeners by conf.c's second pass.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"

#define CONF_ADMIN_TOKEN_MIN	16	/* bytes: a shorter admin token is refused */
#define CONF_ADMIN_TOKEN_MAX	4096	/* and a longer one (it must fit a request head) */

static conf_set_fn conf_set_admin_listen, conf_set_admin_token, conf_set_admin_token_file;

/* "admin" object; base is the whole struct conf. */
const struct conf_key conf_admin_keys[] = {
	{ "listen",		conf_set_admin_listen,	0,						0, 0, 0, NULL },
	{ "token",		conf_set_admin_token,	offsetof(struct conf, admin_token),		0, 0, 0, NULL },
	{ "tokenFile",		conf_set_admin_token_file, offsetof(struct conf, admin_token),		0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

_Static_assert(CONF_NKEYS(conf_admin_keys) <= 64, "too many keys in conf_admin_keys");

/* "admin": {"listen": ...}; base is the struct conf. */
static void
conf_set_admin_listen(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;

	(void)k;
	conf_listen_value(e, v, jpath, &c->admin_listen, c->admin_name, sizeof(c->admin_name),
	    "\"127.0.0.1:9090\" or \"[::1]:9090\"");
}

/*
 * "admin": an object of conf_admin_keys turns the admin listener on; false
 * (like leaving the key out) keeps it off.
 */
void
conf_set_admin(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;

	if (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) {
		c->admin = 0;
		return;
	}
	if (!json_object_is_type(v, json_type_object)) {
		conf_err(e, jpath, "expected an object such as {\"listen\": \"127.0.0.1:9090\"}, or false");
		return;
	}
	c->admin = 1;
	conf_walk(e, k->sub, v, c, jpath);
	if (json_object_object_get_ex(v, "token", NULL) &&
	    json_object_object_get_ex(v, "tokenFile", NULL))
		conf_err(e, jpath, "token and tokenFile are exclusive: give one of them");
}

/*
 * Stores <tok> as the admin token when it can be one: at least
 * CONF_ADMIN_TOKEN_MIN bytes (a short secret is guessed), visible ASCII only
 * (it travels in an Authorization header). <what> names it in messages.
 */
static void
conf_admin_token_store(struct conf_errs *e, const struct conf_key *k, void *base,
    const char *jpath, const char *tok, size_t len, const char *what)
{
	size_t i;

	if (len == 0) {
		conf_err(e, jpath, "%s is empty", what);
		return;
	}
	if (len < CONF_ADMIN_TOKEN_MIN || len > CONF_ADMIN_TOKEN_MAX) {
		conf_err(e, jpath, "%s must be %d to %d characters long (it has %zu)", what,
		    CONF_ADMIN_TOKEN_MIN, CONF_ADMIN_TOKEN_MAX, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] <= 0x20 || tok[i] >= 0x7f) {
			conf_err(e, jpath, "%s may hold only visible ASCII characters "
			    "(no spaces, no control bytes)", what);
			return;
		}
	}
	conf_store_string(e, k, base, jpath, tok);
}

/* "admin": {"token": "..."}: the secret every admin request must show. */
static void
conf_set_admin_token(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_string(v)) == NULL) {
		conf_err(e, jpath, "expected a string of at least %d characters",
		    CONF_ADMIN_TOKEN_MIN);
		return;
	}
	conf_admin_token_store(e, k, base, jpath, s, strlen(s), "the token");
}

/*
 * "admin": {"tokenFile": "/path"}: the token read now from a file (so that it
 * stays out of a config file others may read), without its trailing newline.
 */
static void
conf_set_admin_token_file(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	char buf[CONF_ADMIN_TOKEN_MAX + 3];
	const char *path;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((path = conf_nonempty(e, v, jpath, "a file name such as \"/etc/rondo/admin.token\"")) == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_err(e, jpath, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_err(e, jpath, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			return;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
		conf_err(e, jpath, "the token in %s may hold only visible ASCII characters", path);
	else
		conf_admin_token_store(e, k, base, jpath, buf, len, "the token in the file");
	explicit_bzero(buf, sizeof(buf));
}
