/* The embedded nats-server (the sidecar): its configuration file, command line, ports file and the
 * client URL applications read. Pure: strings in, strings out, no I/O. */
#ifndef WSF_NATSD_H
#define WSF_NATSD_H

#include <stddef.h>

/* Where and how the broker runs. Strings are borrowed; none may hold a quote, a backslash or a
 * control character (they are written inside double quotes of the config file). */
struct wsf_natsd_conf {
    const char *host;  /* listen address; NULL = "127.0.0.1" */
    int port;          /* 1..65535, or -1: the server picks one (learn it from the ports file) */
    const char *token; /* client token, required (clients authenticate with it) */
    const char *store_dir; /* JetStream file store, required */
    const char *ports_dir; /* where the server writes <exe>_<pid>.ports; NULL = none */
    const char *name;      /* server_name; NULL = "wsfleet" */
};

/* Writes the nats-server config file text for c into out (NUL-terminated): JetStream with file
 * storage in store_dir, listening on host:port, token authorization. The token goes into this file
 * (to be written 0600 in the 0700 run dir), never onto the command line where ps shows it.
 * Returns the length written, -EINVAL for a missing or unquotable field or a bad port, -ENOSPC when
 * out is too small. */
int wsf_natsd_config(char *out, size_t size, const struct wsf_natsd_conf *c);

/* Fills argv with { exe, "-c", conf_path, NULL } (borrowed pointers). Returns the argument count
 * (3), or -ENOSPC when argv has fewer than 4 slots. */
int wsf_natsd_argv(const char **argv, size_t slots, const char *exe, const char *conf_path);

/* Finds the client port in the text of a ports file ({"nats":["nats://127.0.0.1:4222"],...}).
 * Returns 0 and sets *out, or -EINVAL when no nats:// URL with a port is in the text. */
int wsf_natsd_parse_ports(int *out, const char *text, size_t len);

/* Writes the client URL "nats://TOKEN@HOST:PORT" (what RUNDIR/nats.url holds) into out. Returns
 * the length, -EINVAL for a bad port or a token with characters a URL user part cannot hold
 * unescaped, -ENOSPC when out is too small. */
int wsf_natsd_url(char *out, size_t size, const char *host, int port, const char *token);

#endif
