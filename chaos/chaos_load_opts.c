/* The population's options (defaults, a loopback target), the names of disconnect causes, and
 * the clock and timer helpers the load client and the drill runner share. */
#include "chaos_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wsf_parse.h"

static const char *const chaos_cause_names[CHAOS_CAUSE_COUNT] = {
    "close", "abnormal", "refused", "connect", "handshake", "echo", "protocol",
};

const char *chaos_cause_name(enum chaos_cause cause)
{
    return (unsigned)cause < CHAOS_CAUSE_COUNT ? chaos_cause_names[cause] : "?";
}

uint64_t chaos_load_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void chaos_load_opts_init(chaos_load_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = CHAOS_CLIENT_ECHO;
    chaos_load_opts_target(o, "127.0.0.1:8080");
    strcpy(o->path, "/echo");
    o->connections = 100;
    o->inflight = 1;
    o->size = 20;
    o->connect_timeout_ms = 10000;
    o->reconnect = true;
    wsf_backoff_policy_init(&o->backoff);
}

int chaos_load_opts_target(chaos_load_opts *o, const char *hostport)
{
    char host[64];
    char port_s[8];
    uint64_t port = 0;
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    if (wsf_addr_split(host, sizeof(host), port_s, sizeof(port_s), hostport) != 0 ||
        wsf_parse_u64(&port, port_s, 1, 65535) != 0) {
        return -1;
    }
    memset(&ss, 0, sizeof(ss));
    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        o->addr_len = sizeof(*sin6);
        snprintf(o->host, sizeof(o->host), "[%s]:%u", host, (unsigned)port);
    } else {
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
            (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        o->addr_len = sizeof(*sin);
        snprintf(o->host, sizeof(o->host), "%s:%u", host, (unsigned)port);
    }
    o->addr = ss;
    return 0;
}

int chaos_load_opts_add_target(chaos_load_opts *o, const char *hostport)
{
    chaos_load_opts tmp = *o;
    if (o->ntargets == CHAOS_LOAD_MAX_TARGETS || chaos_load_opts_target(&tmp, hostport) != 0) {
        return -1;
    }
    chaos_load_target *t = &o->targets[o->ntargets++];
    t->addr = tmp.addr;
    t->addr_len = tmp.addr_len;
    snprintf(t->host, sizeof(t->host), "%s", tmp.host);
    if (o->ntargets == 1) {
        o->addr = tmp.addr;
        o->addr_len = tmp.addr_len;
        snprintf(o->host, sizeof(o->host), "%s", tmp.host);
    }
    return 0;
}

void chaos_load_arm_ms(struct event *ev, uint64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000u);
    tv.tv_usec = (suseconds_t)(ms % 1000u) * 1000;
    event_add(ev, &tv);
}
