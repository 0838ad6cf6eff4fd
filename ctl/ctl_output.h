/* wsctl's output: a supervisor's answer rendered as human text or as one JSON document. */
#ifndef CTL_OUTPUT_H
#define CTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wsf_msg.h"

/* wsctl's own version (the project version). */
extern const char ctl_version[];

/* Writes the answer to an accepted request for cmd to out:
 * - status: key/value lines, or a JSON object of every wsf_fleet_status field;
 * - workers: a table (SLOT PID STATE CONNS MSG/S-IN MSG/S-OUT ERR/S RESTARTS UPTIME ACCEPT
 *   BUCKETS RSS), or a JSON array of objects of every wsf_worker_status field (the refused_*
 *   counts as a "refused" object: bad_request, not_found, upgrade, origin, per_ip, rate_limited);
 * - breaker list: a table (SLOT PID STATE BREAKER FAIL% OPENED TIMES, OPENED as the age of the
 *   last opening at now, the current Unix time), or a JSON array of objects with slot, pid,
 *   state (the breaker's), worker_state, failure_rate, opened_at (Unix time) and times_opened;
 * - version: wsctl's and the supervisor's versions;
 * - status also shows the NATS broker (res->nats): a "nats:" line, or a "nats" object with mode,
 *   state, pid, port, restarts, connected and stream;
 * - publish: the offset, or {"offset":N};
 * - history: "channel C  epoch E  offset N  (K publications)" and "OFFSET DATA" lines, or the
 *   supervisor's JSON object {"channel","epoch","offset","pubs":[{"offset","data"}]};
 * - channels: a table (CHANNEL SUBSCRIBERS PER WORKER as slot:count) and how many workers
 *   answered, or the JSON object {"channels":{NAME:N},"workers":[{"pid","slot","channels"}],
 *   "answered","running"};
 * - alerts: a table (STATE ALERT SLOT SEVERITY STARTED ENDED SUMMARY, firing ones first, then
 *   the recently resolved, newest first), or the supervisor's JSON object {"fleet","firing":[...],
 *   "recent":[...]} whose alerts have alertname, rule, slot (slot rules), severity, state,
 *   summary, description, startsAt, endsAt (resolved), value and threshold;
 * - the others: the supervisor's message ("ok" when empty), or {"ok":true,"message":...}.
 * Strings from the wire are bounded by their arrays; control characters print as '?'.
 * Returns 0, or -EPROTO when a status answer carries no status, or a history, channels or alerts answer
 * no JSON object of that shape (nothing is written then). */
int ctl_output_render(FILE *out, enum wsf_ctl_command cmd, const wsf_ctl_response *res, bool json,
                      uint64_t now);

/* Writes a refusal (res->ok false) as {"ok":false,"error":...} for --json callers. */
void ctl_output_refusal_json(FILE *out, const wsf_ctl_response *res);

/* Writes a string from the wire to out: at most cap bytes, up to a NUL, with control characters
 * as '?' so that an answer cannot drive the terminal. */
void ctl_put_text(FILE *out, const char *s, size_t cap);

/* Writes a duration compactly into out (cap bytes): "42s", "5m03s", "1h02m", "3d04h". */
void ctl_format_duration(char *out, size_t cap, uint64_t seconds);

/* Writes a byte count compactly into out (cap bytes): "512B", "12.3M", "1.5G". */
void ctl_format_bytes(char *out, size_t cap, uint64_t bytes);

#endif
