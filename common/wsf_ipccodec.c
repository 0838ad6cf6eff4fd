/* Protobuf encoding of the control-plane messages: wsf_msg.h structs to and from
 * proto/wsfleet.proto. Every message carries WSF_PROTO_VERSION; unknown fields are skipped by
 * protobuf-c. */
#include "wsf_ipccodec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsfleet.pb-c.h"

/* Whether a decoded message carries our protocol version; *seen gets the one it carries. */
static int wsf_check_version(uint32_t version, uint32_t *seen)
{
    *seen = version;
    return version == WSF_PROTO_VERSION ? 0 : WSF_IPC_EVERSION;
}

static void wsf_copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Packs a message if it fits. */
static int wsf_pack(uint8_t *buf, size_t cap, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > cap || n > INT32_MAX)
        return -ENOSPC;
    return (int)protobuf_c_message_pack(m, buf);
}

int wsf_ipc_pack_worker_msg(uint8_t *buf, size_t cap, const wsf_worker_msg *msg)
{
    Wsfleet__WorkerMessage wm = WSFLEET__WORKER_MESSAGE__INIT;
    Wsfleet__Hello hello = WSFLEET__HELLO__INIT;
    Wsfleet__Report rep = WSFLEET__REPORT__INIT;
    Wsfleet__Histogram hist = WSFLEET__HISTOGRAM__INIT;
    Wsfleet__Ack ack = WSFLEET__ACK__INIT;
    uint32_t bounds[WSF_HIST_BUCKETS];
    uint64_t counts[WSF_HIST_BUCKETS + 1];

    switch (msg->kind) {
    case WSF_WMSG_HELLO:
        hello.version = WSF_PROTO_VERSION;
        hello.pid = msg->hello.pid;
        hello.slot = msg->hello.slot;
        hello.generation = msg->hello.generation;
        wm.body_case = WSFLEET__WORKER_MESSAGE__BODY_HELLO;
        wm.hello = &hello;
        break;
    case WSF_WMSG_REPORT: {
        const wsf_report *r = &msg->report;
        rep.version = WSF_PROTO_VERSION;
        rep.pid = r->pid;
        rep.slot = r->slot;
        rep.generation = r->generation;
        rep.seq = r->seq;
        rep.connections_opened = r->connections_opened;
        rep.connections_closed = r->connections_closed;
        rep.handshakes_ok = r->handshakes_ok;
        rep.handshakes_failed_client = r->handshakes_failed_client;
        rep.handshakes_failed_busy = r->handshakes_failed_busy;
        rep.handshakes_failed_timeout = r->handshakes_failed_timeout;
        rep.handshakes_failed_server = r->handshakes_failed_server;
        rep.messages_in = r->messages_in;
        rep.messages_out = r->messages_out;
        rep.bytes_in = r->bytes_in;
        rep.bytes_out = r->bytes_out;
        rep.protocol_errors = r->protocol_errors;
        rep.internal_errors = r->internal_errors;
        rep.failed_writes = r->failed_writes;
        rep.refused_bad_request = r->refused_bad_request;
        rep.refused_not_found = r->refused_not_found;
        rep.refused_upgrade = r->refused_upgrade;
        rep.refused_origin = r->refused_origin;
        rep.refused_per_ip = r->refused_per_ip;
        rep.refused_rate_limited = r->refused_rate_limited;
        rep.backend_requests = r->backend_requests;
        rep.backend_failures = r->backend_failures;
        rep.backend_timeouts = r->backend_timeouts;
        rep.backend_malformed = r->backend_malformed;
        rep.backend_rejected = r->backend_rejected;
        rep.backend_breaker_opened = r->backend_breaker_opened;
        rep.backend_breaker_state = r->backend_breaker_state;
        rep.backend_pushes = r->backend_pushes;
        rep.connections_active = r->connections_active;
        rep.loop_lag_us = r->loop_lag_us;
        rep.rss_bytes = r->rss_bytes;
        rep.cpu_time_us = r->cpu_time_us;
        rep.accepting = r->accepting;
        rep.draining = r->draining;
        for (unsigned i = 0; i < WSF_HIST_BUCKETS; i++)
            bounds[i] = 1u << i;
        memcpy(counts, r->latency, sizeof counts);
        hist.n_bounds_us = WSF_HIST_BUCKETS;
        hist.bounds_us = bounds;
        hist.n_counts = WSF_HIST_BUCKETS + 1;
        hist.counts = counts;
        rep.latency = &hist;
        wm.body_case = WSFLEET__WORKER_MESSAGE__BODY_REPORT;
        wm.report = &rep;
        break;
    }
    case WSF_WMSG_ACK:
        ack.version = WSF_PROTO_VERSION;
        ack.id = msg->ack.id;
        ack.ok = msg->ack.ok;
        ack.error = (char *)msg->ack.error;
        wm.body_case = WSFLEET__WORKER_MESSAGE__BODY_ACK;
        wm.ack = &ack;
        break;
    default:
        return -EINVAL;
    }
    return wsf_pack(buf, cap, &wm.base);
}

static void wsf_report_from_pb(wsf_report *r, const Wsfleet__Report *p)
{
    r->pid = p->pid;
    r->slot = p->slot;
    r->generation = p->generation;
    r->seq = p->seq;
    r->connections_opened = p->connections_opened;
    r->connections_closed = p->connections_closed;
    r->handshakes_ok = p->handshakes_ok;
    r->handshakes_failed_client = p->handshakes_failed_client;
    r->handshakes_failed_busy = p->handshakes_failed_busy;
    r->handshakes_failed_timeout = p->handshakes_failed_timeout;
    r->handshakes_failed_server = p->handshakes_failed_server;
    r->messages_in = p->messages_in;
    r->messages_out = p->messages_out;
    r->bytes_in = p->bytes_in;
    r->bytes_out = p->bytes_out;
    r->protocol_errors = p->protocol_errors;
    r->internal_errors = p->internal_errors;
    r->failed_writes = p->failed_writes;
    r->refused_bad_request = p->refused_bad_request;
    r->refused_not_found = p->refused_not_found;
    r->refused_upgrade = p->refused_upgrade;
    r->refused_origin = p->refused_origin;
    r->refused_per_ip = p->refused_per_ip;
    r->refused_rate_limited = p->refused_rate_limited;
    r->backend_requests = p->backend_requests;
    r->backend_failures = p->backend_failures;
    r->backend_timeouts = p->backend_timeouts;
    r->backend_malformed = p->backend_malformed;
    r->backend_rejected = p->backend_rejected;
    r->backend_breaker_opened = p->backend_breaker_opened;
    r->backend_breaker_state = p->backend_breaker_state;
    r->backend_pushes = p->backend_pushes;
    r->connections_active = p->connections_active;
    r->loop_lag_us = p->loop_lag_us;
    r->rss_bytes = p->rss_bytes;
    r->cpu_time_us = p->cpu_time_us;
    r->accepting = p->accepting;
    r->draining = p->draining;
    if (p->latency) {
        /* Bounds other than ours are not re-bucketed: counts are taken position by position. */
        size_t n = p->latency->n_counts;
        if (n > WSF_HIST_BUCKETS + 1)
            n = WSF_HIST_BUCKETS + 1;
        memcpy(r->latency, p->latency->counts, n * sizeof r->latency[0]);
    }
}

int wsf_ipccodec_unpack_worker_msg(wsf_worker_msg *out, const uint8_t *buf, size_t len,
                                   uint32_t *seen)
{
    Wsfleet__WorkerMessage *wm = wsfleet__worker_message__unpack(NULL, len, buf);
    int rc = 0;
    if (wm == NULL)
        return -EPROTO;
    uint32_t version = 0;
    switch (wm->body_case) {
    case WSFLEET__WORKER_MESSAGE__BODY_HELLO:
        version = wm->hello->version;
        break;
    case WSFLEET__WORKER_MESSAGE__BODY_REPORT:
        version = wm->report->version;
        break;
    case WSFLEET__WORKER_MESSAGE__BODY_ACK:
        version = wm->ack->version;
        break;
    default:
        rc = -EPROTO;
        goto out;
    }
    rc = wsf_check_version(version, seen);
    if (rc != 0)
        goto out;
    memset(out, 0, sizeof *out);
    switch (wm->body_case) {
    case WSFLEET__WORKER_MESSAGE__BODY_HELLO:
        out->kind = WSF_WMSG_HELLO;
        out->hello.pid = wm->hello->pid;
        out->hello.slot = wm->hello->slot;
        out->hello.generation = wm->hello->generation;
        break;
    case WSFLEET__WORKER_MESSAGE__BODY_REPORT:
        out->kind = WSF_WMSG_REPORT;
        wsf_report_from_pb(&out->report, wm->report);
        break;
    case WSFLEET__WORKER_MESSAGE__BODY_ACK:
        out->kind = WSF_WMSG_ACK;
        out->ack.id = wm->ack->id;
        out->ack.ok = wm->ack->ok;
        wsf_copy_str(out->ack.error, sizeof out->ack.error, wm->ack->error);
        break;
    default:
        break;
    }
out:
    wsfleet__worker_message__free_unpacked(wm, NULL);
    return rc;
}

int wsf_ipc_unpack_worker_msg(wsf_worker_msg *out, const uint8_t *buf, size_t len)
{
    uint32_t seen;
    return wsf_ipccodec_unpack_worker_msg(out, buf, len, &seen);
}

int wsf_ipc_pack_command(uint8_t *buf, size_t cap, const wsf_command *cmd)
{
    Wsfleet__SupervisorMessage sm = WSFLEET__SUPERVISOR_MESSAGE__INIT;
    Wsfleet__Command c = WSFLEET__COMMAND__INIT;
    c.version = WSF_PROTO_VERSION;
    c.id = cmd->id;
    c.kind = (Wsfleet__CommandKind)cmd->kind;
    c.drain_ms = cmd->drain_ms;
    c.accepting = cmd->accepting;
    c.shed_count = cmd->shed_count;
    c.fault = (char *)cmd->fault;
    c.fault_value = cmd->fault_value;
    c.fault_ms = cmd->fault_ms;
    c.duration_ms = cmd->duration_ms;
    sm.body_case = WSFLEET__SUPERVISOR_MESSAGE__BODY_COMMAND;
    sm.command = &c;
    return wsf_pack(buf, cap, &sm.base);
}

int wsf_ipccodec_unpack_command(wsf_command *out, const uint8_t *buf, size_t len, uint32_t *seen)
{
    Wsfleet__SupervisorMessage *sm = wsfleet__supervisor_message__unpack(NULL, len, buf);
    int rc = 0;
    if (sm == NULL)
        return -EPROTO;
    if (sm->body_case != WSFLEET__SUPERVISOR_MESSAGE__BODY_COMMAND) {
        rc = -EPROTO;
        goto out;
    }
    const Wsfleet__Command *c = sm->command;
    rc = wsf_check_version(c->version, seen);
    if (rc != 0)
        goto out;
    memset(out, 0, sizeof *out);
    out->id = c->id;
    int kind = (int)c->kind;
    out->kind =
        kind >= WSF_CMD_PING && kind <= WSF_CMD_FAULT ? (enum wsf_command_kind)kind : WSF_CMD_NONE;
    out->drain_ms = c->drain_ms;
    out->accepting = c->accepting;
    out->shed_count = c->shed_count;
    wsf_copy_str(out->fault, sizeof out->fault, c->fault);
    out->fault_value = c->fault_value;
    out->fault_ms = c->fault_ms;
    out->duration_ms = c->duration_ms;
out:
    wsfleet__supervisor_message__free_unpacked(sm, NULL);
    return rc;
}

int wsf_ipc_unpack_command(wsf_command *out, const uint8_t *buf, size_t len)
{
    uint32_t seen;
    return wsf_ipccodec_unpack_command(out, buf, len, &seen);
}

int wsf_ipc_pack_ctl_request(uint8_t *buf, size_t cap, const wsf_ctl_request *req)
{
    Wsfleet__CtlRequest r = WSFLEET__CTL_REQUEST__INIT;
    r.version = WSF_PROTO_VERSION;
    r.command = (Wsfleet__CtlCommand)req->command;
    r.slot = req->slot;
    r.count = req->count;
    r.rolling = req->rolling;
    r.drain_s = req->drain_s;
    r.fault = (char *)req->fault;
    r.rate = req->rate;
    r.fault_ms = req->fault_ms;
    r.duration_s = req->duration_s;
    r.autoscale_on = req->autoscale_on;
    r.min = req->min;
    r.max = req->max;
    r.channel = (char *)req->channel;
    r.data = (char *)req->data;
    r.limit = req->limit;
    return wsf_pack(buf, cap, &r.base);
}

int wsf_ipccodec_unpack_ctl_request(wsf_ctl_request *out, const uint8_t *buf, size_t len,
                                    uint32_t *seen)
{
    Wsfleet__CtlRequest *r = wsfleet__ctl_request__unpack(NULL, len, buf);
    if (r == NULL)
        return -EPROTO;
    int rc = wsf_check_version(r->version, seen);
    if (rc != 0) {
        wsfleet__ctl_request__free_unpacked(r, NULL);
        return rc;
    }
    memset(out, 0, sizeof *out);
    int command = (int)r->command;
    out->command = command >= WSF_CTL_STATUS && command <= WSF_CTL_CLUSTER
                       ? (enum wsf_ctl_command)command
                       : WSF_CTL_NONE;
    out->slot = r->slot;
    out->count = r->count;
    out->rolling = r->rolling;
    out->drain_s = r->drain_s;
    wsf_copy_str(out->fault, sizeof out->fault, r->fault);
    out->rate = r->rate;
    out->fault_ms = r->fault_ms;
    out->duration_s = r->duration_s;
    out->autoscale_on = r->autoscale_on;
    out->min = r->min;
    out->max = r->max;
    wsf_copy_str(out->channel, sizeof out->channel, r->channel);
    wsf_copy_str(out->data, sizeof out->data, r->data);
    out->limit = r->limit;
    wsfleet__ctl_request__free_unpacked(r, NULL);
    return 0;
}

int wsf_ipc_unpack_ctl_request(wsf_ctl_request *out, const uint8_t *buf, size_t len)
{
    uint32_t seen;
    return wsf_ipccodec_unpack_ctl_request(out, buf, len, &seen);
}

int wsf_ipc_pack_ctl_response(uint8_t *buf, size_t cap, const wsf_ctl_response *res)
{
    Wsfleet__CtlResponse r = WSFLEET__CTL_RESPONSE__INIT;
    Wsfleet__FleetStatus st = WSFLEET__FLEET_STATUS__INIT;
    Wsfleet__NatsStatus ns = WSFLEET__NATS_STATUS__INIT;
    Wsfleet__WorkerStatus ws[WSF_CTL_MAX_WORKERS];
    Wsfleet__WorkerStatus *wp[WSF_CTL_MAX_WORKERS];
    size_t n = res->nworkers < WSF_CTL_MAX_WORKERS ? res->nworkers : WSF_CTL_MAX_WORKERS;

    r.version = WSF_PROTO_VERSION;
    r.ok = res->ok;
    r.error = (char *)res->error;
    r.message = (char *)res->message;
    r.server_version = (char *)res->server_version;
    r.upgrades = res->upgrades;
    if (res->has_status) {
        const wsf_fleet_status *s = &res->status;
        st.state = (char *)s->state;
        st.pid = s->pid;
        st.workers_running = s->workers_running;
        st.workers_desired = s->workers_desired;
        st.workers_min = s->workers_min;
        st.workers_max = s->workers_max;
        st.connections = s->connections;
        st.msgs_in_per_s = s->msgs_in_per_s;
        st.errors_per_s = s->errors_per_s;
        st.uptime_s = s->uptime_s;
        st.steering = (char *)s->steering;
        st.listen = (char *)s->listen;
        st.autoscale = s->autoscale;
        st.last_scaling = (char *)s->last_scaling;
        st.last_scaling_age_s = s->last_scaling_age_s;
        st.workers_adopted = s->workers_adopted;
        st.backend_requests = s->backend_requests;
        st.backend_failures = s->backend_failures;
        st.backend_timeouts = s->backend_timeouts;
        st.backend_breakers_open = s->backend_breakers_open;
        st.name = (char *)s->name;
        r.status = &st;
    }
    for (size_t i = 0; i < n; i++) {
        const wsf_worker_status *w = &res->workers[i];
        wsfleet__worker_status__init(&ws[i]);
        ws[i].slot = w->slot;
        ws[i].pid = w->pid;
        ws[i].state = (char *)w->state;
        ws[i].connections = w->connections;
        ws[i].msgs_in_per_s = w->msgs_in_per_s;
        ws[i].msgs_out_per_s = w->msgs_out_per_s;
        ws[i].errors_per_s = w->errors_per_s;
        ws[i].restarts = w->restarts;
        ws[i].uptime_s = w->uptime_s;
        ws[i].generation = w->generation;
        ws[i].accepting = w->accepting;
        ws[i].buckets = w->buckets;
        ws[i].rss_bytes = w->rss_bytes;
        ws[i].breaker = (char *)w->breaker;
        ws[i].failure_rate = w->failure_rate;
        ws[i].opened_at = w->opened_at;
        ws[i].times_opened = w->times_opened;
        ws[i].refused_bad_request = w->refused_bad_request;
        ws[i].refused_not_found = w->refused_not_found;
        ws[i].refused_upgrade = w->refused_upgrade;
        ws[i].refused_origin = w->refused_origin;
        ws[i].refused_per_ip = w->refused_per_ip;
        ws[i].refused_rate_limited = w->refused_rate_limited;
        ws[i].backend_breaker = (char *)w->backend_breaker;
        ws[i].backend_requests = w->backend_requests;
        ws[i].backend_failures = w->backend_failures;
        ws[i].backend_timeouts = w->backend_timeouts;
        ws[i].backend_breaker_opened = w->backend_breaker_opened;
        ws[i].backend_malformed = w->backend_malformed;
        ws[i].backend_rejected = w->backend_rejected;
        wp[i] = &ws[i];
    }
    r.n_workers = n;
    r.workers = n ? wp : NULL;
    if (res->has_nats) {
        ns.mode = (char *)res->nats.mode;
        ns.state = (char *)res->nats.state;
        ns.pid = res->nats.pid;
        ns.port = res->nats.port;
        ns.restarts = res->nats.restarts;
        ns.connected = res->nats.connected;
        ns.stream = (char *)res->nats.stream;
        r.nats = &ns;
    }
    r.offset = res->offset;
    r.body = (char *)res->body;
    return wsf_pack(buf, cap, &r.base);
}

int wsf_ipccodec_unpack_ctl_response(wsf_ctl_response *out, const uint8_t *buf, size_t len,
                                     uint32_t *seen)
{
    Wsfleet__CtlResponse *r = wsfleet__ctl_response__unpack(NULL, len, buf);
    if (r == NULL)
        return -EPROTO;
    int rc = wsf_check_version(r->version, seen);
    if (rc != 0) {
        wsfleet__ctl_response__free_unpacked(r, NULL);
        return rc;
    }
    memset(out, 0, sizeof *out);
    out->ok = r->ok;
    wsf_copy_str(out->error, sizeof out->error, r->error);
    wsf_copy_str(out->message, sizeof out->message, r->message);
    wsf_copy_str(out->server_version, sizeof out->server_version, r->server_version);
    out->upgrades = r->upgrades;
    if (r->status) {
        const Wsfleet__FleetStatus *s = r->status;
        wsf_fleet_status *o = &out->status;
        out->has_status = true;
        wsf_copy_str(o->state, sizeof o->state, s->state);
        o->pid = s->pid;
        o->workers_running = s->workers_running;
        o->workers_desired = s->workers_desired;
        o->workers_min = s->workers_min;
        o->workers_max = s->workers_max;
        o->connections = s->connections;
        o->msgs_in_per_s = s->msgs_in_per_s;
        o->errors_per_s = s->errors_per_s;
        o->uptime_s = s->uptime_s;
        wsf_copy_str(o->steering, sizeof o->steering, s->steering);
        wsf_copy_str(o->listen, sizeof o->listen, s->listen);
        o->autoscale = s->autoscale;
        wsf_copy_str(o->last_scaling, sizeof o->last_scaling, s->last_scaling);
        o->last_scaling_age_s = s->last_scaling_age_s;
        o->workers_adopted = s->workers_adopted;
        o->backend_requests = s->backend_requests;
        o->backend_failures = s->backend_failures;
        o->backend_timeouts = s->backend_timeouts;
        o->backend_breakers_open = s->backend_breakers_open;
        wsf_copy_str(o->name, sizeof o->name, s->name);
    }
    size_t n = r->n_workers < WSF_CTL_MAX_WORKERS ? r->n_workers : WSF_CTL_MAX_WORKERS;
    for (size_t i = 0; i < n; i++) {
        const Wsfleet__WorkerStatus *w = r->workers[i];
        wsf_worker_status *o = &out->workers[i];
        o->slot = w->slot;
        o->pid = w->pid;
        wsf_copy_str(o->state, sizeof o->state, w->state);
        o->connections = w->connections;
        o->msgs_in_per_s = w->msgs_in_per_s;
        o->msgs_out_per_s = w->msgs_out_per_s;
        o->errors_per_s = w->errors_per_s;
        o->restarts = w->restarts;
        o->uptime_s = w->uptime_s;
        o->generation = w->generation;
        o->accepting = w->accepting;
        o->buckets = w->buckets;
        o->rss_bytes = w->rss_bytes;
        wsf_copy_str(o->breaker, sizeof o->breaker, w->breaker);
        o->failure_rate = w->failure_rate;
        o->opened_at = w->opened_at;
        o->times_opened = w->times_opened;
        o->refused_bad_request = w->refused_bad_request;
        o->refused_not_found = w->refused_not_found;
        o->refused_upgrade = w->refused_upgrade;
        o->refused_origin = w->refused_origin;
        o->refused_per_ip = w->refused_per_ip;
        o->refused_rate_limited = w->refused_rate_limited;
        wsf_copy_str(o->backend_breaker, sizeof o->backend_breaker, w->backend_breaker);
        o->backend_requests = w->backend_requests;
        o->backend_failures = w->backend_failures;
        o->backend_timeouts = w->backend_timeouts;
        o->backend_breaker_opened = w->backend_breaker_opened;
        o->backend_malformed = w->backend_malformed;
        o->backend_rejected = w->backend_rejected;
    }
    out->nworkers = n;
    if (r->nats) {
        out->has_nats = true;
        wsf_copy_str(out->nats.mode, sizeof out->nats.mode, r->nats->mode);
        wsf_copy_str(out->nats.state, sizeof out->nats.state, r->nats->state);
        out->nats.pid = r->nats->pid;
        out->nats.port = r->nats->port;
        out->nats.restarts = r->nats->restarts;
        out->nats.connected = r->nats->connected;
        wsf_copy_str(out->nats.stream, sizeof out->nats.stream, r->nats->stream);
    }
    out->offset = r->offset;
    wsf_copy_str(out->body, sizeof out->body, r->body);
    wsfleet__ctl_response__free_unpacked(r, NULL);
    return 0;
}

int wsf_ipc_unpack_ctl_response(wsf_ctl_response *out, const uint8_t *buf, size_t len)
{
    uint32_t seen;
    return wsf_ipccodec_unpack_ctl_response(out, buf, len, &seen);
}
