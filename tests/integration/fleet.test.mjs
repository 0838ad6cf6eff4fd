// wsfleetd with real workers: crash and hang replacement, scaling with drains, spread of
// connections over the slots, the supervisor's own death and graceful stop, and bad configs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WebSocket, echo, slow } from './lib/worker.mjs';
import {
    closeOrTimeout, echoOnce, fleetdPath, iniText, makeTempDir, openMany, ownersOf, pidAlive,
    runProgram, signalPid, sleep, startFleet, stopFleet, waitGone,
} from './lib/fleet.mjs';

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

// Opens a client, echoes once, closes: true when it worked.
async function canEchoFleet(fleet) {
    const r = await echoOnce(fleet.url(), 'are you there');
    return r.ok;
}

describe('a fleet of 4', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({ workers: { count: 4 } });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('SIGKILL of a worker: a new pid runs in its slot; clients at 100/s see no failure',
        async (t) => {
            const victimSlot = 1;
            const before = await fleet.workers();
            const victim = slotOf(before, victimSlot).pid;
            assert.ok(victim > 0, JSON.stringify(before));

            // 100 clients a second, each open, echo, close, until 300 have started, 200 of them
            // after the kill. The kill comes 0.8 s in, at a moment when no client is in flight
            // (new ones wait for it): each connection either finished before the kill or was
            // made after it, and every one must be served by the fleet.
            const results = [];
            const inFlight = new Set();
            let killAt = null;
            let replacedAt = null;
            let poller = null;
            let afterKill = 0;
            const pending = [];
            const loadStart = Date.now();
            const replaceBound = slow(5000);
            const pollReplacement = async () => {
                while (Date.now() - killAt < replaceBound) {
                    const w = slotOf(await fleet.workers(), victimSlot);
                    if (w && w.state === 'running' && w.pid > 0 && w.pid !== victim) {
                        replacedAt = Date.now();
                        return;
                    }
                    await sleep(20);
                }
            };
            await new Promise((resolve) => {
                let n = 0;
                const tick = setInterval(() => {
                    if (killAt === null && Date.now() - loadStart >= 800) {
                        if (inFlight.size > 0) {
                            return;
                        }
                        signalPid(victim, 'SIGKILL');
                        killAt = Date.now();
                        poller = pollReplacement();
                    }
                    if (n >= 300 && afterKill >= 200) {
                        clearInterval(tick);
                        resolve();
                        return;
                    }
                    const id = n++;
                    afterKill += killAt !== null;
                    const started = Date.now();
                    inFlight.add(id);
                    pending.push(echoOnce(fleet.url(), `client ${id}`).then((r) => {
                        inFlight.delete(id);
                        results.push({ ...r, id, started });
                    }));
                }, 10);
            });
            await Promise.all(pending);
            await poller;

            assert.ok(replacedAt !== null,
                `slot ${victimSlot} not replaced within ${replaceBound} ms:\n${fleet.tail()}`);
            const replacedMs = replacedAt - killAt;
            assert.equal(pidAlive(victim), false, `killed worker ${victim} is still alive`);
            const list = await fleet.workers();
            for (const slot of [0, 2, 3]) {
                assert.equal(slotOf(list, slot).pid, slotOf(before, slot).pid,
                    `slot ${slot} changed pid though only slot ${victimSlot} was killed`);
            }

            const failures = results.filter((r) => !r.ok);
            t.diagnostic(`replaced in ${replacedMs} ms; ${results.length} clients, ` +
                `${afterKill} after the kill, ${failures.length} failed`);
            assert.equal(results.length, pending.length);
            assert.equal(failures.length, 0, `${failures.length} of ${results.length} clients failed: ` +
                JSON.stringify(failures.slice(0, 10)));
        });

    // Runs after the kill above on purpose: slot 1's worker is younger than the others, so its
    // reports arrive out of phase with theirs, as in any fleet that has lived a while.
    test('1,000 connections spread over the 4 workers within ±25 % of the mean', async (t) => {
        const n = 1000;
        const clients = await openMany(fleet, n, { concurrency: 100 });
        // While the burst is still being counted, rebalancing may shed a few with 1012 (these
        // clients do not come back): the spread is of the ones still open. Reports every 0.5 s:
        // wait until they add up to those.
        const open = () => clients.filter((ws) => ws.readyState === WebSocket.OPEN).length;
        const list = await fleet.waitWorkers(
            (l) => l.reduce((sum, w) => sum + w.connections, 0) === open(), slow(8000),
            'reports adding up to the open connections');
        const held = list.reduce((sum, w) => sum + w.connections, 0);
        const shed = clients.filter((ws) => ws.readyState !== WebSocket.OPEN);
        assert.ok(shed.every((ws) => ws._closeCode === 1012),
            `closed other than by a shed: ${shed.map((ws) => ws._closeCode)}`);
        assert.ok(held >= n / 2, `only ${held} of ${n} connections left`);
        const mean = held / list.length;
        const counts = list.map((w) => w.connections);
        t.diagnostic(`connections per slot: ${counts}; ${shed.length} shed; ` +
            `restarts: ${list.map((w) => w.restarts)}`);
        for (const w of list) {
            assert.ok(Math.abs(w.connections - mean) <= 0.25 * mean,
                `slot ${w.slot} holds ${w.connections} connections; mean ${mean}; all: ${counts}`);
        }
        for (const ws of clients) {
            ws.terminate();
            fleet.clients.delete(ws);
        }
    });
});

describe('a hung worker', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 2, hang_timeout: 2, kill_grace: 1, report_interval: 0.5 },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('SIGSTOP: replaced after hang_timeout + kill_grace, the old pid SIGKILLed', async () => {
        const before = await fleet.workers();
        const victim = slotOf(before, 0).pid;
        const other = slotOf(before, 1).pid;
        signalPid(victim, 'SIGSTOP');
        const stoppedAt = Date.now();
        try {
            const list = await fleet.waitWorkers((l) => {
                const w = slotOf(l, 0);
                return w && w.state === 'running' && w.pid > 0 && w.pid !== victim;
            }, 2000 + 1000 + slow(4000), 'slot 0 to be replaced after SIGSTOP');
            const elapsed = Date.now() - stoppedAt;
            // The last report is at most 0.5 s old at SIGSTOP; SIGTERM cannot stop a stopped
            // process, so only the SIGKILL after kill_grace ends it.
            assert.ok(elapsed >= 2000, `replaced only ${elapsed} ms after SIGSTOP`);
            assert.equal(slotOf(list, 1).pid, other, 'the healthy slot was restarted too');
            assert.equal(pidAlive(victim), false, `hung worker ${victim} is still alive`);
            assert.equal(fleet.lines(new RegExp(`worker pid ${victim} sent no report .*SIGTERM`)).length, 1,
                fleet.tail());
            assert.equal(fleet.lines(new RegExp(`worker pid ${victim} killed by signal 9`)).length, 1,
                fleet.tail());
            assert.ok(await canEchoFleet(fleet), 'the fleet does not echo after the replacement');
        } finally {
            signalPid(victim, 'SIGCONT');
            if (pidAlive(victim)) {
                signalPid(victim, 'SIGKILL');
            }
        }
    });
});

describe('scaling', () => {
    let fleet;

    before(async () => {
        // Rebalancing would shed from the busier slots on its own (1012): this test is about
        // what scaling alone does.
        fleet = await startFleet({
            workers: { count: 4, max: 8, drain_timeout: 2 }, sections: { rebalance: { enabled: 0 } },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('scale 6, then scale 2 drains slots 2-5 with 1001 and keeps slots 0-1', async (t) => {
        const up = await fleet.ctl(['scale', '6']);
        assert.equal(up.code, 0, up.stderr);
        const six = await fleet.waitRunning(6);
        const pidOfSlot = new Map(six.map((w) => [w.slot, w.pid]));

        // Which slot a connection lands on depends on its source port: open 60 at a time until
        // every slot holds some (60 that all miss one slot of 6 are a 1-in-50,000 chance; ten
        // rounds are only a bound).
        const clients = [];
        let owners;
        let perSlot;
        for (let round = 0; round < 10; round++) {
            clients.push(...await openMany(fleet, 60, { concurrency: 20 }));
            owners = ownersOf(clients.map((ws) => ws.clientPort), fleet.port, [...pidOfSlot.values()]);
            perSlot = [0, 1, 2, 3, 4, 5].map((s) => [...owners.values()]
                .filter((p) => p === pidOfSlot.get(s)).length);
            if (perSlot.every((c) => c > 0)) {
                break;
            }
        }
        assert.ok(perSlot.every((c) => c > 0), `a new slot got no connections: ${perSlot}`);
        const slotOfPid = new Map(six.map((w) => [w.pid, w.slot]));
        const keep = [];
        const drain = [];
        for (const ws of clients) {
            const owner = owners.get(ws.clientPort);
            assert.ok(owner !== undefined, `no worker holds the connection from port ${ws.clientPort}`);
            (slotOfPid.get(owner) < 2 ? keep : drain).push(ws);
        }

        const closes = drain.map((ws) => closeOrTimeout(ws, 2000 + 1000 + slow(4000)));
        const downAt = Date.now();
        const down = await fleet.ctl(['scale', '2']);
        assert.equal(down.code, 0, down.stderr);

        const drained = await Promise.all(closes);
        const codes = drained.map((c) => c.code);
        assert.ok(codes.every((c) => c === 1001), `drained clients closed with ${codes}`);
        const times = drained.map((c) => c.at - downAt).sort((a, b) => a - b);
        t.diagnostic(`connections per slot ${perSlot}; drained closes from ${times[0]} to ` +
            `${times[times.length - 1]} ms after scale 2`);
        // Gradual: spread over the 2 s drain, not all at once.
        assert.ok(times[times.length - 1] - times[0] >= 500,
            `drain closed everything within ${times[times.length - 1] - times[0]} ms: ${times}`);

        const two = await fleet.waitWorkers((l) => l.length === 2 &&
            l.every((w) => w.state === 'running' && w.slot < 2), slow(5000), 'the fleet back at 2');
        assert.equal(slotOf(two, 0).pid, pidOfSlot.get(0));
        assert.equal(slotOf(two, 1).pid, pidOfSlot.get(1));
        const gone = await waitGone([2, 3, 4, 5].map((s) => pidOfSlot.get(s)), slow(2000));
        assert.deepEqual(gone, [], 'drained workers still alive');

        for (const ws of keep) {
            assert.equal(ws.readyState, WebSocket.OPEN, `a connection on slot 0-1 was closed (${ws._closeCode})`);
            const got = await echo(ws, `kept ${ws.clientPort}`);
            assert.equal(got.data.toString(), `kept ${ws.clientPort}`);
        }
        const status = await fleet.status();
        assert.equal(status.workers_running, 2);
        assert.equal(status.workers_desired, 2);
        for (const ws of keep) {
            ws.close();
        }
    });
});

describe('the supervisor dies', () => {
    // Long enough that the checks made while the orphans must still serve are done well before it
    // ends, even on a slow run.
    const orphanGraceMs = Math.ceil(slow(4000) / 1000) * 1000;
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 2, orphan_grace: orphanGraceMs / 1000, drain_timeout: 1 },
        });
    });

    after(async () => {
        // The supervisor was SIGKILLed on purpose: only leftovers matter here.
        const result = await fleet.stop();
        assert.deepEqual(result.leftovers, [], 'workers outlived the test');
        assert.deepEqual(fleet.sanitizerReports(), []);
    });

    test('SIGKILL: connections keep echoing, workers drain with 1001 and exit after orphan_grace',
        async (t) => {
            const list = await fleet.workers();
            const pids = list.map((w) => w.pid);
            const clients = await openMany(fleet, 8, { concurrency: 8 });
            const closes = clients.map((ws) => closeOrTimeout(ws, orphanGraceMs + 1000 + slow(10000)));

            const exit = await fleet.signalAndWait('SIGKILL', slow(5000));
            const killedAt = Date.now();
            assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });

            for (const ws of clients) {
                const got = await echo(ws, `orphan ${ws.clientPort}`);
                assert.equal(got.data.toString(), `orphan ${ws.clientPort}`);
            }
            await sleep(Math.max(0, 1200 - (Date.now() - killedAt)));
            assert.deepEqual(pids.filter((p) => !pidAlive(p)), [], 'a worker exited before orphan_grace');
            for (const ws of clients) {
                assert.equal(ws.readyState, WebSocket.OPEN, `closed ${Date.now() - killedAt} ms after the kill`);
                const got = await echo(ws, `still ${ws.clientPort}`);
                assert.equal(got.data.toString(), `still ${ws.clientPort}`);
            }

            // No supervisor behind the stale socket: wsctl says so with exit 3 (by itself, after
            // its own timeout: a wsctl that hung would be killed and show no exit code).
            const ctl = await fleet.ctl(['status']);
            assert.equal(ctl.code, 3, `wsctl exit ${ctl.code} ${ctl.signal ?? ''}: ${ctl.stderr}`);
            assert.ok(ctl.stderr.includes(path.join(fleet.runDir, 'ctl')), ctl.stderr);

            const alive = await waitGone(pids, orphanGraceMs + 1000 + slow(10000));
            const goneMs = Date.now() - killedAt;
            t.diagnostic(`workers gone ${goneMs} ms after the supervisor's SIGKILL`);
            assert.deepEqual(alive, [], `workers still alive ${goneMs} ms after the supervisor died`);
            assert.ok(goneMs >= orphanGraceMs,
                `workers gone ${goneMs} ms after the kill, before orphan_grace`);
            const codes = (await Promise.all(closes)).map((c) => c.code);
            assert.ok(codes.every((c) => c === 1001), `clients closed with ${codes}`);
            for (const pid of pids) {
                assert.ok(fleet.lines(new RegExp(`wsworker\\[${pid}\\] .*orphan`)).length >= 1,
                    `worker ${pid} logged nothing about being orphaned:\n${fleet.tail()}`);
            }
        });
});

describe('graceful stop', () => {
    test('SIGTERM: clients get 1001, wsfleetd exits 0, every worker is gone', async () => {
        const fleet = await startFleet({ workers: { count: 2, drain_timeout: 1.5, kill_grace: 1 } });
        try {
            const pids = (await fleet.workers()).map((w) => w.pid);
            const clients = await openMany(fleet, 6, { concurrency: 6 });
            const closes = clients.map((ws) => closeOrTimeout(ws, 1500 + slow(8000)));
            const exit = await fleet.signalAndWait('SIGTERM', 1500 + 1000 + slow(5000));
            assert.ok(exit, `wsfleetd still running after SIGTERM:\n${fleet.tail()}`);
            assert.deepEqual(exit, { code: 0, signal: null }, fleet.tail());
            assert.deepEqual(await waitGone(pids, slow(2000)), [], 'workers outlived the supervisor');
            const codes = (await Promise.all(closes)).map((c) => c.code);
            assert.ok(codes.every((c) => c === 1001), `clients closed with ${codes}`);
            assert.equal(fleet.lines(/SIGKILL/).length, 0, `a worker needed SIGKILL:\n${fleet.tail()}`);
            assert.equal(fs.existsSync(path.join(fleet.runDir, 'ctl')), false, 'ctl socket left behind');
        } finally {
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });
});

describe('bad configuration', () => {
    const cases = [
        { name: 'count = x', ini: { workers: { count: 'x' } }, key: /\[workers\] count/ },
        { name: 'unknown key', ini: { workers: { count: 2, bogus: 1 } }, key: /bogus/ },
        { name: 'unknown section', ini: { nowhere: { count: 2 } }, key: /nowhere/ },
        { name: 'hang_timeout below report_interval',
            ini: { workers: { report_interval: 2, hang_timeout: 1 } }, key: /hang_timeout|report_interval/ },
        { name: 'min above max', ini: { workers: { count: 2, min: 5, max: 4 } }, key: /min|max/ },
        { name: 'bad listen', ini: { fleet: { listen: 'nowhere' } }, key: /listen/ },
        { name: '--workers 0 flag', ini: { workers: { max: 4 } }, flags: ['--workers', '0'], key: /--workers/ },
    ];
    for (const c of cases) {
        test(`${c.name}: exit 2 with one line naming it, nothing started`, async () => {
            const dir = makeTempDir();
            try {
                const config = path.join(dir, 'fleet.ini');
                fs.writeFileSync(config, iniText(c.ini));
                const runDir = path.join(dir, 'run');
                const r = await runProgram(fleetdPath(), ['--foreground', '-c', config,
                    ...(c.ini.fleet?.listen ? [] : ['--listen', '127.0.0.1:0']), '--run-dir', runDir,
                    ...(c.flags ?? [])], slow(10000));
                const started = [...r.stderr.matchAll(/ started worker pid (\d+)/g)].map((m) => Number(m[1]));
                for (const pid of started) {
                    signalPid(pid, 'SIGKILL');
                }
                assert.equal(r.code, 2, `exit ${r.code} ${r.signal ?? ''}:\n${r.stderr}`);
                const lines = r.stderr.split('\n').filter((l) => l !== '');
                assert.equal(lines.length, 1, `expected one line:\n${r.stderr}`);
                assert.match(lines[0], c.key);
                assert.equal(r.stdout, '');
                assert.deepEqual(started, []);
                assert.equal(fs.existsSync(runDir), false, 'the run dir was created');
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    test('a missing config file: exit 2 naming the file', async () => {
        const dir = makeTempDir();
        try {
            const missing = path.join(dir, 'missing.ini');
            const r = await runProgram(fleetdPath(), ['--foreground', '-c', missing,
                '--listen', '127.0.0.1:0', '--run-dir', path.join(dir, 'run')], slow(10000));
            assert.equal(r.code, 2, r.stderr);
            assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
            assert.ok(r.stderr.includes(missing), r.stderr);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
