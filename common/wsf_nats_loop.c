/* wsf_nats with loop_io: libnats' event-loop hooks on the wsf_nats loop, so the connection's
 * reads and writes run on the loop thread (non-blocking socket, writes buffered until writable)
 * instead of libnats' reader and flusher threads. */
#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <nats/nats.h>

#include "wsf_buf.h"
#include "wsf_nats_priv.h"

/* The events of one attached socket. libnats calls attach (loop thread on the first connect, its
 * reconnect thread after), read/write (any thread that buffers a write, and on a lost
 * connection), detach (the thread that closes the connection: wsf_nats_free, on the loop). */
struct wsf_nats_io {
    struct wsf_nats *n;
    natsConnection *nc;
    struct event *read, *write;
    bool want_write; /* libnats has buffered bytes to send (between its write add and remove) */
    /* Events of earlier sockets, freed on the loop: the reconnect thread attaches while holding
     * the connection's lock, and freeing an event whose callback runs (waiting for that lock)
     * would wait for ever. Under n->mu. */
    struct event **retired;
    size_t nretired, capretired;
};

int wsf_nats_loop_init(void)
{
    return evthread_use_pthreads() == 0 ? 0 : -ENOMEM;
}

static void free_retired(struct wsf_nats_io *io)
{
    pthread_mutex_lock(&io->n->mu);
    for (size_t i = 0; i < io->nretired; i++) {
        event_free(io->retired[i]);
    }
    __atomic_store_n(&io->nretired, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&io->n->mu);
}

int wsf_nats_loop_sub(struct wsf_nats_sub *s, const char *subject)
{
    struct wsf_nats *n = s->n;
    natsStatus st = natsConnection_SubscribeSync(&s->ns, n->nc, subject);
    if (st != NATS_OK) {
        return wsf_nats_errno(st);
    }
    s->on_loop = true;
    struct wsf_nats_sub **tail = &n->loop_subs;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = s;
    return 0;
}

void wsf_nats_loop_reap(struct wsf_nats *n, bool all)
{
    for (struct wsf_nats_sub **p = &n->loop_subs; *p != NULL;) {
        struct wsf_nats_sub *s = *p;
        if (!s->closed && !all) {
            p = &s->next;
            continue;
        }
        *p = s->next;
        natsSubscription_Destroy(s->ns);
        free(s);
    }
}

/* Loop thread, after a read of the socket: the loop subscriptions' messages it brought, after
 * what the queue holds (events, other subscriptions' messages) so that nothing overtakes what
 * came before it. */
static void deliver(struct wsf_nats *n)
{
    bool any = false;
    for (struct wsf_nats_sub *s = n->loop_subs; s != NULL; s = s->next) {
        s->ready = 0;
        if (!s->closed && natsSubscription_GetPending(s->ns, &s->ready, NULL) == NATS_OK &&
            s->ready > 0) {
            any = true;
        }
    }
    if (!any || n->freeing) {
        return;
    }
    n->loop_passing = true;
    wsf_nats_dispatch_queued(n);
    for (struct wsf_nats_sub *s = n->loop_subs; s != NULL; s = s->next) {
        for (; s->ready > 0 && !s->closed; s->ready--) {
            natsMsg *msg = NULL;
            natsStatus st = natsSubscription_NextMsg(&msg, s->ns, 0);
            if (st == NATS_OK) {
                wsf_nats_deliver(n, s, msg);
            } else if (st == NATS_NO_RESPONDERS) {
                /* libnats consumed the server's status message and kept its subject. */
                static const struct wsf_nats_msg none = {.data = "", .no_responders = true};
                s->cb(&none, s->arg);
            } else if (st == NATS_SLOW_CONSUMER) {
                s->ready++; /* a report that messages were dropped; the next call gives one */
            } else {
                break;
            }
        }
    }
    n->loop_passing = false;
    wsf_nats_loop_reap(n, false);
}

/* Loop thread: the socket is readable or writable. */
static void on_io(evutil_socket_t fd, short what, void *arg)
{
    struct wsf_nats_io *io = arg;
    (void)fd;
    if (__atomic_load_n(&io->nretired, __ATOMIC_RELAXED) > 0) {
        free_retired(io);
    }
    if (what & EV_WRITE) {
        natsConnection_ProcessWriteEvent(io->nc);
        /* Part of the buffer is still to go: wait for room. */
        if (__atomic_load_n(&io->want_write, __ATOMIC_ACQUIRE) &&
            !event_pending(io->write, EV_WRITE, NULL)) {
            event_add(io->write, NULL);
        }
    }
    if (what & EV_READ) {
        natsConnection_ProcessReadEvent(io->nc);
        deliver(io->n);
    }
}

static void retire(struct wsf_nats_io *io, struct event *ev)
{
    if (ev == NULL) {
        return;
    }
    event_del_noblock(ev);
    pthread_mutex_lock(&io->n->mu);
    if (io->nretired == io->capretired) {
        io->capretired = io->capretired ? io->capretired * 2 : 4;
        io->retired = wsf_xrealloc(io->retired, io->capretired * sizeof(*io->retired));
    }
    io->retired[io->nretired] = ev;
    __atomic_store_n(&io->nretired, io->nretired + 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&io->n->mu);
}

static natsStatus io_attach(void **user, void *loop, natsConnection *nc, natsSock fd)
{
    struct wsf_nats *n = loop;
    struct wsf_nats_io *io = *user;
    if (io == NULL) {
        io = wsf_xcalloc(1, sizeof(*io));
        io->n = n;
    } else {
        retire(io, io->read);
        retire(io, io->write);
    }
    io->nc = nc;
    io->read = event_new(n->base, fd, EV_READ | EV_PERSIST, on_io, io);
    io->write = event_new(n->base, fd, EV_WRITE | EV_PERSIST, on_io, io);
    *user = io;
    if (io->read == NULL || io->write == NULL || event_add(io->read, NULL) != 0) {
        return NATS_NO_MEMORY;
    }
    return NATS_OK;
}

static natsStatus io_read(void *user, bool add)
{
    struct wsf_nats_io *io = user;
    int rc = add ? event_add(io->read, NULL) : event_del_noblock(io->read);
    return rc == 0 ? NATS_OK : NATS_ERR;
}

/* libnats wants to write (add: it buffered something; called once until it removes) or has
 * written everything (remove: the loop thread, from natsConnection_ProcessWriteEvent). A write is
 * tried on the loop's next turn without waiting for writability (the socket almost always has
 * room): no epoll change and no extra wakeup per publish. on_io arms the write event only when
 * the socket took part of the buffer. */
static natsStatus io_write(void *user, bool add)
{
    struct wsf_nats_io *io = user;
    __atomic_store_n(&io->want_write, add, __ATOMIC_RELEASE);
    if (add) {
        event_active(io->write, EV_WRITE, 0);
        if (!pthread_equal(pthread_self(), io->n->loop_thread)) {
            wsf_nats_kick(io->n);
        }
        return NATS_OK;
    }
    return event_pending(io->write, EV_WRITE, NULL) && event_del_noblock(io->write) != 0 ? NATS_ERR
                                                                                          : NATS_OK;
}

static natsStatus io_detach(void *user)
{
    struct wsf_nats_io *io = user;
    free_retired(io);
    if (io->read != NULL) {
        event_free(io->read);
    }
    if (io->write != NULL) {
        event_free(io->write);
    }
    free(io->retired);
    free(io);
    return NATS_OK;
}

natsStatus wsf_nats_loop_set(natsOptions *o, struct wsf_nats *n)
{
    natsStatus s = natsOptions_SetEventLoop(o, n, io_attach, io_read, io_write, io_detach);
    /* With the event loop, "send as soon as possible" only arms the write event (the write
     * itself waits for writability on the loop), and libnats starts no flusher thread: without
     * it, every publish would wake that thread, which waits 1 ms for more, then arms the event. */
    if (s == NATS_OK) {
        s = natsOptions_SetSendAsap(o, true);
    }
    return s;
}
