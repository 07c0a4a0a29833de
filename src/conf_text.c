/*
 * What json-c lets through in the text of a configuration, even with its
 * strict flag: member names in single quotes, and one name written twice in
 * an object (json-c would keep the last silently). Both are scans of the
 * text, once json-c has accepted it, reported as file:line:col.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf_int.h"

/*
 * json-c takes 'single-quoted' member names even in strict mode. Once it has
 * accepted <buf>, returns the offset of the first single quote outside a
 * string, or <len> when there is none.
 */
size_t
conf_find_squote(const char *buf, size_t len)
{
	size_t i;
	int instr = 0;

	for (i = 0; i < len; i++) {
		if (instr) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				instr = 0;
		} else if (buf[i] == '"')
			instr = 1;
		else if (buf[i] == '\'')
			return i;
	}
	return len;
}

/* A member name met by conf_dup_keys. */
struct conf_name {
	const char	*p;		/* decoded name: into the text, or <owned> */
	size_t		 len;
	size_t		 off;		/* its opening quote in the text */
	char		*owned;		/* a name written with escapes, decoded by json-c */
};

/* A duplicate found by conf_dup_keys: reported in file order once all are known. */
struct conf_dup {
	size_t		 off;
	char		 msg[CONF_MSG_MAX];
};

#define CONF_NAME_SHOW	64	/* bytes of a duplicate name quoted in its message */
#define CONF_DEPTH_MAX	64	/* json-c refuses deeper nesting long before */

static int
conf_name_cmp(const void *a, const void *b)
{
	const struct conf_name *x = a, *y = b;
	int r = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Reads the member name whose opening quote is at buf[i] into <n> (decoded
 * when it has escapes) and returns the offset of its closing quote, or
 * (size_t)-1 when out of memory.
 */
static size_t
conf_name_read(const char *buf, size_t i, struct conf_name *n)
{
	struct json_object *o;
	size_t j;
	int esc = 0;

	for (j = i + 1; buf[j] != '"'; j++)
		if (buf[j] == '\\') {
			esc = 1;
			j++;
		}
	n->off = i;
	n->p = buf + i + 1;
	n->len = j - i - 1;
	n->owned = NULL;
	if (!esc)
		return j;
	/* The text was accepted as JSON: the quoted name alone is a JSON string. */
	if ((n->owned = strndup(buf + i, j - i + 1)) == NULL)
		return (size_t)-1;
	if ((o = json_tokener_parse(n->owned)) != NULL) {
		n->len = (size_t)json_object_get_string_len(o);
		memcpy(n->owned, json_object_get_string(o), n->len);	/* never longer */
		n->p = n->owned;
		json_object_put(o);
	}
	return j;
}

/* The message for a duplicate name: printable ASCII kept, the rest as \xNN. */
static void
conf_dup_message(struct conf_dup *d, const struct conf_name *n)
{
	char show[CONF_NAME_SHOW * 4 + 4];
	size_t i, k = 0;

	for (i = 0; i < n->len && i < CONF_NAME_SHOW; i++) {
		unsigned char c = (unsigned char)n->p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			show[k++] = (char)c;
		else
			k += (size_t)snprintf(show + k, sizeof(show) - k, "\\x%02x", c);
	}
	if (i < n->len)
		k += (size_t)snprintf(show + k, sizeof(show) - k, "...");
	show[k] = '\0';
	d->off = n->off;
	snprintf(d->msg, sizeof(d->msg), "duplicate key \"%s\"", show);
}

static int
conf_dup_cmp(const void *a, const void *b)
{
	const struct conf_dup *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * json-c keeps the last of several members with one name, silently: a
 * setting written twice would take effect from its second place. Once
 * json-c has accepted <buf>, this scan of the text records each member name
 * written twice in one object, as "name:line:col: duplicate key "x"" at its
 * second occurrence. Returns the number found, or -1 when out of memory.
 */
int
conf_dup_keys(struct conf_errs *e, const char *buf, size_t len, size_t bom)
{
	struct conf_name *names = NULL, *tmp;
	struct conf_dup *dups = NULL, *dtmp;
	size_t stack[CONF_DEPTH_MAX];	/* per open object: its first name; arrays: -1 */
	size_t nnames = 0, cap = 0, ndups = 0, dcap = 0, depth = 0, i, k, first;
	int want_name = 0, rc = -1;

	for (i = bom; i < len; i++) {
		switch (buf[i]) {
		case '"':
			if (nnames == cap) {
				cap = cap ? cap * 2 : 64;
				if ((tmp = realloc(names, cap * sizeof(*names))) == NULL)
					goto out;
				names = tmp;
			}
			if ((k = conf_name_read(buf, i, &names[nnames])) == (size_t)-1)
				goto out;
			if (want_name)
				nnames++;
			else
				free(names[nnames].owned);	/* a string value */
			want_name = 0;
			i = k;
			break;
		case '{':
		case '[':
			if (depth == CONF_DEPTH_MAX)
				goto out;
			stack[depth++] = buf[i] == '{' ? nnames : (size_t)-1;
			want_name = buf[i] == '{';
			break;
		case '}':
		case ']':
			if (depth == 0)
				goto out;
			first = stack[--depth];
			want_name = 0;
			if (first == (size_t)-1)
				break;
			/* Sorted by name, then place: a duplicate follows its first. */
			if (nnames - first > 1)
				qsort(names + first, nnames - first, sizeof(*names), conf_name_cmp);
			for (k = first + 1; k < nnames; k++) {
				if (names[k].len != names[k - 1].len ||
				    memcmp(names[k].p, names[k - 1].p, names[k].len) != 0)
					continue;
				if (ndups == dcap) {
					dcap = dcap ? dcap * 2 : 8;
					if ((dtmp = realloc(dups, dcap * sizeof(*dups))) == NULL)
						goto out;
					dups = dtmp;
				}
				conf_dup_message(&dups[ndups++], &names[k]);
			}
			while (nnames > first)
				free(names[--nnames].owned);
			break;
		case ',':
			want_name = depth > 0 && stack[depth - 1] != (size_t)-1;
			break;
		}
	}
	if (ndups > 0)
		qsort(dups, ndups, sizeof(*dups), conf_dup_cmp);
	for (k = 0; k < ndups; k++)
		conf_err_at(e, buf, dups[k].off, bom, dups[k].msg);
	rc = (int)ndups;
out:
	while (nnames > 0)
		free(names[--nnames].owned);
	free(names);
	free(dups);
	return rc;
}
