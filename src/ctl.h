/* The command-line client side of rondo: "rondo -s status". */
#ifndef RONDO_CTL_H
#define RONDO_CTL_H

#include <stddef.h>
#include <stdio.h>

struct conf;

/*
 * Asks the admin listener named in c for its status and prints a table to
 * out. Returns 0, or -1 with err filled (no admin key, rondo not running...).
 */
int ctl_status(const struct conf *c, FILE *out, char *err, size_t errlen);

#endif
