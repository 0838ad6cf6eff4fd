// Shared by the client tests: a channels fleet (wsfleetd with its nats-server sidecar), wsctl
// publish, and which worker holds a channel's subscriber.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, startFleet, waitFor } from '../integration/lib/fleet.mjs';

export { sleep, waitFor };

export const WAIT_MS = 30000;
export const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
    '../../web/client');

// A two-worker fleet whose `app:` channels take client publishes and have presence; `sections`
// adds INI sections.
export function startChannelsFleet(sections = {}) {
    return startFleet({
        sections: { 'namespace app': { publish: 'client', presence: 'yes' }, ...sections },
    });
}

// wsctl publish; resolves with the offset it printed. Retries while wsfleetd's own NATS
// connection or the stream is not up yet (right after start).
export async function ctlPublish(fleet, channel, data) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        const r = await fleet.ctl(['publish', channel, JSON.stringify(data)]);
        if (r.code === 0) {
            assert.match(r.stdout, /^\d+\n$/);
            return Number(r.stdout);
        }
        if (Date.now() >= deadline) {
            throw new Error(`wsctl publish failed: ${r.code} ${r.stderr}\n${fleet.tail()}`);
        }
        await sleep(100);
    }
}

// The PID of the one running worker that has a subscriber of `channel`, and its slot, from
// `wsctl channels` and `wsctl workers`; waits until exactly one worker answers with one.
export async function ownerOf(fleet, channel, notPid = 0) {
    let last;
    const pid = await waitFor(async () => {
        const r = await fleet.ctl(['--json', 'channels']);
        last = r.stdout + r.stderr;
        if (r.code !== 0) {
            return 0;
        }
        const owners = r.json.workers.filter((w) => w.channels?.[channel] === 1);
        return owners.length === 1 && owners[0].pid !== notPid ? owners[0].pid : 0;
    }, WAIT_MS, `one worker with a subscriber of ${channel}`, () => last);
    const w = (await fleet.workers()).find((x) => x.pid === pid);
    assert.ok(w, `worker ${pid} is not listed`);
    return { pid, slot: w.slot };
}
