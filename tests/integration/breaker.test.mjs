// Circuit breakers with real workers: an injected error rate opens one worker's breaker, steering
// then gives it no new connections, and once the fault is over it half-opens and closes again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    countCloses, openMany, ownersOf, sleep, startFleet, steadyTraffic, stopFleet,
} from './lib/fleet.mjs';
import { slow } from './lib/worker.mjs';

const VICTIM = 1;
// The breaker's open time: long enough for the checks made while it is open (400 connections,
// then Reports counting them) to be done well before it half-opens, even on a slow run.
const OPEN_TIME_S = Math.ceil(slow(4000) / 1000);

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

// `wsctl --json breaker list`, checked for exit 0.
async function breakers(fleet) {
    const r = await fleet.ctl(['--json', 'breaker', 'list']);
    assert.equal(r.code, 0, `wsctl breaker list: ${r.stderr}`);
    assert.ok(Array.isArray(r.json), r.stdout);
    return r.json;
}

// Polls the breaker list until slot `slot` is in `state`; resolves with { list, at } or throws
// after `ms`.
async function waitBreaker(fleet, slot, state, ms) {
    const deadline = Date.now() + ms;
    let list;
    for (;;) {
        list = await breakers(fleet);
        if (slotOf(list, slot)?.state === state) {
            return { list, at: Date.now() };
        }
        if (Date.now() >= deadline) {
            throw new Error(`slot ${slot}'s breaker not ${state} after ${ms} ms: ` +
                `${JSON.stringify(list)}\nwsfleetd stderr (tail):\n${fleet.tail()}`);
        }
        await sleep(50);
    }
}

describe('circuit breaker', () => {
    test('60 % injected errors open one breaker of 4; it gets none of 400 new ' +
        'connections; after the fault it half-opens and closes', async (t) => {
        const fleet = await startFleet({
            workers: { count: 4 },
            // Rebalancing off: it would shed the 400 below with 1012 while the breaker is open
            // (the bug the next test shows), and the count of them on wsctl would not add up.
            sections: {
                breaker: { open_time: OPEN_TIME_S }, rebalance: { enabled: 0 },
                drills: { enabled: 'yes' },
            },
        });
        let traffic;
        try {
            const before = await fleet.workers();
            const victimPid = slotOf(before, VICTIM).pid;
            const totalBuckets = before.reduce((sum, w) => sum + w.buckets, 0);
            assert.ok(before.every((w) => w.breaker === 'closed' && w.times_opened === 0),
                JSON.stringify(before));

            // The rate detector looks at a 10 s window, so healthy traffic from before the fault
            // dilutes it: 60 % errors reach the 50 % bar within 3 s only when the window holds
            // little else (see the report). The traffic therefore starts with the fault.
            // 100 clients a second, each open, echo, close: about a quarter reach the victim.
            const faultAt = Date.now();
            const f = await fleet.ctl(['fault', String(VICTIM), 'error', '--rate', '0.6',
                '--for', '4']);
            assert.equal(f.code, 0, f.stderr);
            traffic = steadyTraffic(fleet, 100);

            // How soon it opens depends on how many requests the (loaded) machine makes in the
            // window: a liveness bound, not a speed requirement.
            const opened = await waitBreaker(fleet, VICTIM, 'open', slow(6000));
            const openMs = opened.at - faultAt;
            const trip = await fleet.ctl(['breaker', 'list']);
            console.log(`wsctl breaker list, ${openMs} ms after the fault:\n${trip.stdout}` +
                fleet.lines(/breaker closed -> open/).join('\n'));
            const b = slotOf(opened.list, VICTIM);
            assert.equal(b.times_opened, 1);
            assert.ok(b.failure_rate >= 0.5, `failure_rate ${b.failure_rate}`);
            assert.ok(b.opened_at > 0, JSON.stringify(b));
            for (const other of opened.list.filter((w) => w.slot !== VICTIM)) {
                assert.equal(other.state, 'closed', JSON.stringify(opened.list));
            }
            const row = `^\\s*${VICTIM}\\s+${victimPid}\\s+running\\s+open\\s`;
            assert.match(trip.stdout, new RegExp(row, 'm'), trip.stdout);

            // 400 new connections while the breaker is open: none may land on the victim.
            const clients = await openMany(fleet, 400, { concurrency: 50 });
            const owners = ownersOf(clients.map((ws) => ws.clientPort), fleet.port,
                before.map((w) => w.pid));
            const byPid = new Map();
            for (const pid of owners.values()) {
                byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
            }
            t.diagnostic(`owners of the 400: ${JSON.stringify([...byPid])}`);
            assert.equal(byPid.get(victimPid) ?? 0, 0,
                `worker ${victimPid} (slot ${VICTIM}) got ${byPid.get(victimPid)} of 400`);
            assert.equal(byPid.get(undefined) ?? 0, 0, 'some of the 400 have no owner');
            // Read back through wsctl once the Reports count them, with the breaker still open
            // (otherwise a half-open trickle could have been admitted, and nothing is shown).
            const list = await fleet.waitWorkers((l) => l.filter((w) => w.slot !== VICTIM)
                .reduce((sum, w) => sum + w.connections, 0) >= 400, slow(5000),
            'Reports counting the 400');
            const victim = slotOf(list, VICTIM);
            t.diagnostic(`per slot: ${list.map((w) => `${w.slot}:${w.breaker}:${w.connections}` +
                `:${w.buckets}`).join(' ')}`);
            assert.equal(victim.breaker, 'open',
                `the breaker closed meanwhile: ${JSON.stringify(list)}`);
            // The same opening: opened_at is wall-clock seconds worked out afresh by each query
            // (now - age, both rounded down), so it may read one second apart.
            assert.equal(victim.times_opened, 1, JSON.stringify(victim));
            assert.ok(Math.abs(victim.opened_at - b.opened_at) <= 1,
                `opened_at ${victim.opened_at} vs ${b.opened_at}`);
            assert.equal(victim.connections, 0, JSON.stringify(list));
            assert.equal(victim.buckets, 0, JSON.stringify(list));
            assert.equal(list.filter((w) => w.slot !== VICTIM)
                .reduce((sum, w) => sum + w.buckets, 0), totalBuckets, JSON.stringify(list));
            for (const ws of clients) {
                ws.terminate();
                fleet.clients.delete(ws);
            }

            // After the open time (± 10 %) it half-opens: a trickle of buckets.
            const half = await waitBreaker(fleet, VICTIM, 'half_open',
                OPEN_TIME_S * 1100 + slow(4000));
            const halfAfter = half.at - opened.at;
            assert.ok(halfAfter >= OPEN_TIME_S * 900 - 300, `half-open ${halfAfter} ms after open`);
            const trickle = slotOf(await fleet.workers(), VICTIM);
            if (trickle.breaker === 'half_open') {
                assert.ok(trickle.buckets > 0 && trickle.buckets <= totalBuckets / 8,
                    `half-open slot has ${trickle.buckets} of ${totalBuckets} buckets`);
            }

            // The fault is over by now (4 s): the probes succeed and the breaker closes.
            const closed = await waitBreaker(fleet, VICTIM, 'closed', slow(20000));
            const c = slotOf(closed.list, VICTIM);
            t.diagnostic(`open after ${openMs} ms, half-open ${halfAfter} ms later, closed ` +
                `${closed.at - half.at} ms after that`);
            assert.equal(c.times_opened, 1, JSON.stringify(closed.list));
            assert.equal((await fleet.waitLines(/breaker closed -> open/)).length, 1, fleet.tail());
            assert.equal((await fleet.waitLines(/breaker open -> half_open/)).length, 1,
                fleet.tail());
            assert.equal((await fleet.waitLines(/breaker half_open -> closed/)).length, 1,
                fleet.tail());
            const w = slotOf(await fleet.workers(), VICTIM);
            assert.ok(w.buckets > 0, JSON.stringify(w));

            // Clients that came after the fault ended are all served: wait for 100 of them.
            const lateCount = () => traffic.results.filter((r) => r.started >= faultAt + 4500).length;
            const lateBy = Date.now() + slow(30000);
            while (lateCount() < 100 && Date.now() < lateBy) {
                await sleep(100);
            }
            const results = await traffic.stop();
            traffic = null;
            const late = results.filter((r) => r.started >= faultAt + 4500);
            const lateFailures = late.filter((r) => !r.ok);
            assert.ok(late.length >= 100, `only ${late.length} clients after the fault`);
            assert.equal(lateFailures.length, 0, JSON.stringify(lateFailures.slice(0, 5)));
        } finally {
            await traffic?.stop();
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });

    test('an open breaker does not make the healthy workers shed connections with 1012',
        async () => {
            const fleet = await startFleet({ workers: { count: 4 } });
            try {
                const r = await fleet.ctl(['breaker', 'trip', String(VICTIM)]);
                assert.equal(r.code, 0, r.stderr);
                const codes = new Map();
                const clients = await openMany(fleet, 400, { concurrency: 50 });
                for (const ws of clients) {
                    countCloses(ws, codes);
                }
                // Reports every 0.5 s, rebalancing once a second: 3 s is plenty for it to act.
                await sleep(3000);
                const sheds = fleet.lines(/rebalance: slot/);
                assert.deepEqual([...codes], [], `closes: ${JSON.stringify([...codes])}\n` +
                    sheds.join('\n'));
            } finally {
                const problem = await stopFleet(fleet);
                assert.equal(problem, null, problem ?? '');
            }
        });
});
