/* The fleet a drill runs against: its own wsfleetd on an ephemeral loopback port with a run
 * directory of its own, and wsctl calls against it, blocking (set-up and the end) or
 * asynchronous on the drill's event loop (during the timeline, so the load never stalls). */
#ifndef CHAOS_FLEET_H
#define CHAOS_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#define CHAOS_PATH_MAX 512

typedef struct chaos_fleet {
    struct event_base *base;
    const char *fleetd_path;
    const char *wsctl_path;
    char dir[CHAOS_PATH_MAX];     /* the drill's directory: config, log, run dir */
    char run_dir[CHAOS_PATH_MAX]; /* DIR/run */
    char config[CHAOS_PATH_MAX];  /* DIR/wsfleetd.ini */
    char log[CHAOS_PATH_MAX];     /* DIR/wsfleetd.log: the supervisor's and workers' stderr */
    pid_t pid;                    /* wsfleetd, 0 before start */
    bool reaped;                  /* wsfleetd exited and was waited for */
    int wait_status;
    uint16_t port;          /* the fleet's port, once ready */
    unsigned calls_pending; /* asynchronous wsctl calls not yet finished */
} chaos_fleet;

/* Makes the drill directory under $TMPDIR (or /tmp). Returns 0, or -1 with err set. */
int chaos_fleet_init(chaos_fleet *f, struct event_base *base, const char *fleetd_path,
                     const char *wsctl_path, char *err, size_t err_len);

/* Writes the configuration (listen 127.0.0.1:0, the run dir and [drills] enabled, then fleet_ini)
 * and starts wsfleetd in the foreground with its output in the log. Then waits, up to timeout_ms,
 * until wsctl reports it running with every desired worker up, and reads the port. Returns 0, or -1
 * with err set (the supervisor is stopped again). */
int chaos_fleet_start(chaos_fleet *f, const char *fleet_ini, uint32_t timeout_ms, char *err,
                      size_t err_len);

/* True while wsfleetd has not exited (reaps it when it has). */
bool chaos_fleet_alive(chaos_fleet *f);

/* SIGKILLs wsfleetd, reaps it and starts a new one with the same configuration and run dir,
 * its output appended to the log, without waiting for it (the drill's polls see it come back).
 * Returns 0, or -1 with err set. */
int chaos_fleet_respawn(chaos_fleet *f, char *err, size_t err_len);

/* SIGTERM to wsfleetd, up to timeout_ms for it to exit, then SIGKILL. Returns 0 when it exited
 * by itself with status 0. */
int chaos_fleet_stop(chaos_fleet *f, uint32_t timeout_ms);

/* Removes the drill directory (unless keep) once nothing runs in it. */
void chaos_fleet_fini(chaos_fleet *f, bool keep);

/* Runs `wsctl --run-dir RUN --json ARGS...` to completion. Returns its exit status (or -1 when it
 * could not run) and, when *doc is not NULL and the output parsed, a JSON document the caller
 * owns. */
int chaos_fleet_ctl(chaos_fleet *f, json_t **doc, const char *const *args);

/* The result of an asynchronous call: exit status (-1 when it could not run) and the parsed
 * output (NULL when none); the callee keeps ownership of doc. */
typedef void (*chaos_ctl_done)(int status, json_t *doc, void *arg);

/* Starts `wsctl ... ARGS...` and calls done on the event loop when it has finished. Returns 0, or
 * -1 when it could not start (done is not called). */
int chaos_fleet_ctl_async(chaos_fleet *f, const char *const *args, chaos_ctl_done done, void *arg);

/* Signals a process the drill started (a worker or wsfleetd), by PID. Returns 0 or -errno. */
int chaos_fleet_signal(pid_t pid, int sig);

#endif
