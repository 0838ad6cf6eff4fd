// Live upgrade (wsctl upgrade): wsfleetd re-executes itself in place. With the same binaries,
// the supervisor and its workers keep their pids and no client notices; a replaced wsworker
// file gets its workers restarted one at a time, only their drained clients reconnecting; a
// replaced wsfleetd file is what runs after the upgrade; a broken one is refused, exit 1; new
// worker settings in the configuration restart every worker.
// The fleet runs from copies of wsfleetd and wsworker in a temp dir that the test replaces.
// A new image given a hand-over it cannot read exits 1 without touching anything.
// The nats-server sidecar is handed over too: the new image keeps the same process (still its
// child), a /channels subscriber stays connected, and wsctl publish and history work again
// through the connection the new image makes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ChClient } from './lib/channels.mjs';
import { numberedEchoers } from './lib/echoers.mjs';
import {
    makeTempDir, openMany, pidAlive, reconnectingClients, sleep, startFleet, steadyTraffic,
    stopFleet, waitFor,
} from './lib/fleet.mjs';

// Replaces `dest` with a fresh copy of `src` (a new inode, as a package upgrade does), or with
// `content` when given.
function replaceFile(dest, src, content) {
    const tmp = `${dest}.new`;
    if (content !== undefined) {
        fs.writeFileSync(tmp, content);
    } else {
        fs.copyFileSync(src, tmp);
    }
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, dest);
}

// `n` clients that each send a numbered message every `everyMs` and check every reply. stop()
// resolves with { sent, answered, wrong, closes, errors } once the replies in flight are in.
async function echoers(fleet, n, everyMs = 50) {
    const clients = await openMany(fleet, n);
    return numberedEchoers(clients, everyMs, (ws) => {
        ws.terminate();
        fleet.clients.delete(ws);
    });
}

// `n` clients that reconnect when a drain closes them (1001, or 1012 from a shed), as clients
// of a draining server should: reconnectingClients with the codes a drain closes with.
function drainFollowers(fleet, n) {
    return reconnectingClients(fleet, n, {
        delayMs: [20, 120], concurrency: 50, reconnectOn: [1001, 1012],
    });
}

function exeOf(pid) {
    return fs.readlinkSync(`/proc/${pid}/exe`);
}

describe('wsctl upgrade', () => {
    let fleet;
    let dir;
    let fleetdCopy;
    let workerCopy;
    const origFleetd = process.env.WSFLEETD;

    before(async () => {
        dir = makeTempDir();
        fleetdCopy = path.join(dir, 'wsfleetd');
        workerCopy = path.join(dir, 'wsworker');
        replaceFile(fleetdCopy, process.env.WSFLEETD);
        replaceFile(workerCopy, process.env.WSWORKER);
        process.env.WSFLEETD = fleetdCopy; // startFleet runs the copy
        try {
            fleet = await startFleet({
                workers: { count: 2, drain_timeout: 2 },
                sections: { fleet: { worker_bin: workerCopy } },
            });
        } finally {
            process.env.WSFLEETD = origFleetd;
        }
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(problem, null, problem ?? '');
    });

    async function upgradeDone(nth) {
        // The new image logs its verdict on the workers once they reported to it.
        await waitFor(() => fleet.lines(/upgrade: (every worker runs the current|\d+ workers run a replaced)/).length >= nth,
            15000, `upgrade ${nth}'s verdict on the workers`, () => fleet.tail());
    }

    test('same binaries: same supervisor and worker pids, every echo answered, nothing closed',
        async () => {
            const before = await fleet.workers();
            const echo = await echoers(fleet, 100);
            await sleep(300);
            const r = await fleet.ctl(['upgrade'], 20000);
            assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
            assert.match(r.stdout, new RegExp(`upgraded: wsfleetd pid ${fleet.pid} runs the new image \\(upgrade 1\\)`));
            await upgradeDone(1);
            await sleep(500); // echoes go on across and after the exec
            const st = await echo.stop();
            assert.ok(fleet.running, fleet.tail());
            assert.deepEqual(st.closes, [], fleet.tail());
            assert.deepEqual(st.errors, []);
            assert.equal(st.wrong, 0);
            assert.ok(st.sent > 100, `only ${st.sent} echoes were sent`);
            assert.equal(st.answered, st.sent);
            const afterList = await fleet.workers();
            assert.deepEqual(afterList.map((w) => [w.slot, w.pid, w.state]),
                before.map((w) => [w.slot, w.pid, 'running']));
            const status = await fleet.status();
            assert.equal(status.pid, fleet.pid);
            assert.equal(fleet.lines(/started worker pid/).length, 2, fleet.tail());
            // The new image's admin server takes the token that RUNDIR/admin.token holds now.
            const listening =
                await fleet.waitLines(/admin listening on http:\/\/127\.0\.0\.1:\d+$/, 2);
            const port = /:(\d+)$/.exec(listening.at(-1))[1];
            const tok = fs.readFileSync(path.join(fleet.runDir, 'admin.token'), 'utf8').trim();
            const res = await fetch(`http://127.0.0.1:${port}/api/events`, {
                method: 'POST',
                headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
                body: JSON.stringify({ kind: 'drill', text: 'after the upgrade' }),
            });
            assert.equal(res.status, 200, await res.text());
        });

    test('a replaced wsworker: workers restarted one at a time, only drained clients reconnect',
        async () => {
            const before = await fleet.workers();
            const clients = await drainFollowers(fleet, 200);
            const traffic = steadyTraffic(fleet, 40);
            let results;
            try {
                replaceFile(workerCopy, process.env.WSWORKER);
                const r = await fleet.ctl(['upgrade'], 20000);
                assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
                await upgradeDone(2);
                assert.equal(fleet.lines(/upgrade: 2 workers run a replaced/).length, 1,
                    fleet.tail());
                await fleet.waitWorkers((l) => l.length === 2 && l.every((w) => w.state ===
                    'running' && !before.some((b) => b.pid === w.pid)), 30000,
                'both workers replaced');
                await waitFor(() => fleet.lines(/rolling restart: done/).length === 1, 10000,
                    'the roll to end', () => fleet.tail());
                await waitFor(() => clients.open() === 200, 10000, 'every drained client back',
                    () => JSON.stringify([...clients.codes]));
            } finally {
                results = await traffic.stop();
                clients.stop();
            }
            assert.ok(fleet.running);
            // Every close was a drain's, and every reconnect and new connection opened.
            assert.deepEqual([...clients.codes.keys()], [1001], JSON.stringify([...clients.codes]));
            // Both workers were drained, so every first connection was closed once; a reconnect
            // that landed on a worker still to be drained may be closed again.
            assert.ok(clients.codes.get(1001) >= 200, JSON.stringify([...clients.codes]));
            assert.deepEqual(clients.failures, []);
            // A new connection is never refused; one that opened just as its worker began to
            // drain is a drained client too (1001 before its echo), never anything else.
            const failed = results.filter((x) => !x.ok && !/^closed with 1001 /.test(x.error));
            assert.deepEqual(failed, [], fleet.tail());
            assert.ok(results.length > 10);
        });

    test('a replaced wsfleetd is what runs after the upgrade, under the same pid', async () => {
        const before = await fleet.workers();
        replaceFile(fleetdCopy, origFleetd);
        assert.match(exeOf(fleet.pid), / \(deleted\)$/);
        const echo = await echoers(fleet, 20);
        const r = await fleet.ctl(['upgrade'], 20000);
        assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
        assert.match(r.stdout, /\(upgrade 3\)/);
        await upgradeDone(3);
        const st = await echo.stop();
        assert.equal(exeOf(fleet.pid), fleetdCopy);
        assert.equal(fs.statSync(`/proc/${fleet.pid}/exe`).ino, fs.statSync(fleetdCopy).ino);
        assert.deepEqual(st.closes, []);
        assert.equal(st.answered, st.sent);
        const afterList = await fleet.workers();
        assert.deepEqual(afterList.map((w) => w.pid), before.map((w) => w.pid));
    });

    test('a broken wsfleetd at the path: refused with exit 1, the fleet runs on', async () => {
        const before = await fleet.workers();
        replaceFile(fleetdCopy, undefined, '');
        const r = await fleet.ctl(['upgrade'], 20000);
        assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /upgrade refused: .*wsfleetd cannot be executed/);
        assert.ok(fleet.running);
        const status = await fleet.status();
        assert.equal(status.pid, fleet.pid);
        assert.deepEqual((await fleet.workers()).map((w) => w.pid), before.map((w) => w.pid));
        // The refusal tore nothing down: a good binary upgrades again.
        replaceFile(fleetdCopy, origFleetd);
        const again = await fleet.ctl(['upgrade'], 20000);
        assert.equal(again.code, 0, `${again.stdout}${again.stderr}\n${fleet.tail()}`);
        assert.match(again.stdout, /\(upgrade 4\)/);
    });

    test('new worker settings in the configuration: every worker restarted, as a reload would',
        async () => {
            const before = await fleet.workers();
            fs.appendFileSync(fleet.configPath, '\n[worker]\nmax_message = 65536\n');
            const r = await fleet.ctl(['upgrade'], 20000);
            assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
            await waitFor(() => fleet.lines(/upgrade: the configuration changed the workers' settings/).length === 1,
                15000, 'the settings verdict', () => fleet.tail());
            await fleet.waitWorkers((l) => l.length === 2 && l.every((w) => w.state === 'running' &&
                !before.some((b) => b.pid === w.pid)), 30000, 'both workers replaced');
            // A reload afterwards finds nothing to change: the workers run what the file says.
            const reload = await fleet.ctl(['reload']);
            assert.equal(reload.code, 0, reload.stderr);
            assert.doesNotMatch(reload.stdout, /restarting workers/);
        });
});

describe('wsctl upgrade with the NATS sidecar', () => {
    let fleet;

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    // wsctl publish until wsfleetd's NATS connection and the stream are up (both come
    // asynchronously after a start or an upgrade); resolves with the offset it printed.
    async function publishWhenUp(channel, data) {
        let last;
        await waitFor(async () => {
            last = await fleet.ctl(['publish', channel, data]);
            return last.code === 0;
        }, 20000, `publish on ${channel}`, () => `${last?.stderr}\n${fleet.tail()}`);
        assert.match(last.stdout, /^\d+\n$/);
        return Number(last.stdout);
    }

    test('same sidecar pid and port, the subscriber stays and gets a publication made after it, '
        + 'history works', async () => {
        fleet = await startFleet({ workers: { count: 2 } });
        let st;
        await waitFor(async () => {
            st = await fleet.status();
            return st.nats?.state === 'running' && st.nats.pid > 0;
        }, 20000, 'the sidecar running', () => `${JSON.stringify(st?.nats)}\n${fleet.tail()}`);
        const sidecar = st.nats;
        assert.equal(sidecar.mode, 'sidecar');
        const o1 = await publishWhenUp('news', '{"n":1}');

        const sub = await ChClient.open(fleet.url('/channels'), { worker: fleet });
        let closed = null;
        sub.closed.then((c) => {
            closed = c;
        });
        assert.ok((await sub.cmd('connect', {})).connect, JSON.stringify(sub.objects));
        assert.ok((await sub.cmd('subscribe', { channel: 'news' })).subscribe,
            JSON.stringify(sub.objects));

        const r = await fleet.ctl(['upgrade'], 20000);
        assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
        assert.match(r.stdout, new RegExp(`upgraded: wsfleetd pid ${fleet.pid} runs the new image \\(upgrade 1\\)`));
        await waitFor(() => fleet.lines(/upgrade: (every worker runs the current|\d+ workers run a replaced)/).length >= 1,
            15000, 'the upgrade\'s verdict on the workers', () => fleet.tail());

        // The same supervisor and the same sidecar: kept, not started again.
        const after1 = await fleet.status();
        assert.equal(after1.pid, fleet.pid);
        assert.equal(after1.nats.pid, sidecar.pid, JSON.stringify(after1.nats));
        assert.equal(after1.nats.port, sidecar.port);
        assert.equal(after1.nats.state, 'running');
        assert.equal(after1.nats.restarts, sidecar.restarts);
        assert.ok(pidAlive(sidecar.pid));
        assert.equal(fleet.lines(/nats-server: started pid/).length, 1, fleet.tail());
        assert.equal(fleet.lines(new RegExp(`nats-server: pid ${sidecar.pid} on .* kept across the upgrade`)).length,
            1, fleet.tail());
        const stat = fs.readFileSync(`/proc/${sidecar.pid}/stat`, 'utf8');
        assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), fleet.pid,
            'the sidecar is no longer wsfleetd\'s child');

        // The new image's own NATS connection publishes; the subscriber, still connected, gets it.
        const o2 = await publishWhenUp('news', '{"n":2}');
        assert.ok(o2 > o1, `${o1} ${o2}`);
        const pubs = await sub.pubsOf('news', 1);
        assert.deepEqual(pubs, [{ offset: o2, data: { n: 2 } }]);
        assert.equal(closed, null, `the subscriber was closed: ${JSON.stringify(closed)}`);
        assert.equal(sub.ws.readyState, sub.ws.OPEN);

        const h = await fleet.ctl(['--json', 'history', 'news']);
        assert.equal(h.code, 0, `${h.stdout}${h.stderr}`);
        assert.equal(h.json.offset, o2);
        assert.deepEqual(h.json.pubs, [{ offset: o1, data: { n: 1 } }, { offset: o2, data: { n: 2 } }]);
        sub.close();
    });

    test('a changed [nats] section is refused with exit 1, the sidecar runs on', async () => {
        const before = await fleet.status();
        const text = fs.readFileSync(fleet.configPath, 'utf8');
        fs.appendFileSync(fleet.configPath, '\n[nats]\nstream = OTHER\n');
        let r;
        try {
            r = await fleet.ctl(['upgrade'], 20000);
        } finally {
            fs.writeFileSync(fleet.configPath, text);
        }
        assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /upgrade refused: \[nats\] changed: restart wsfleetd to apply it/);
        const st = await fleet.status();
        assert.equal(st.pid, fleet.pid);
        assert.equal(st.nats.pid, before.nats.pid);
        // Nothing was re-executed: the next upgrade is the second.
        const again = await fleet.ctl(['upgrade'], 20000);
        assert.equal(again.code, 0, `${again.stdout}${again.stderr}\n${fleet.tail()}`);
        assert.match(again.stdout, /\(upgrade 2\)/);
        assert.equal((await fleet.status()).nats.pid, before.nats.pid);
    });
});

describe('a damaged upgrade hand-over', () => {
    // The new image cannot know the fleet without it: it exits 1 with one line and touches
    // nothing (no run dir, no listener, no signal), so the workers serve on as orphans.
    function runWithHandover(value, fd) {
        const dir = makeTempDir();
        try {
            const runDir = path.join(dir, 'run');
            const stdio = ['ignore', 'pipe', 'pipe'];
            if (fd !== undefined) {
                stdio.push(fd);
            }
            const r = spawnSync(process.env.WSFLEETD, ['--foreground', '--listen', '127.0.0.1:0',
                '--admin-listen', 'off', '--run-dir', runDir], {
                stdio, env: { ...process.env, WSF_UPGRADE_STATE: value }, timeout: 20000,
                encoding: 'utf8',
            });
            return { ...r, runDirMade: fs.existsSync(runDir) };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    test('a descriptor that is not there: exit 1, nothing touched', () => {
        const r = runWithHandover('77');
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /the hand-over WSF_UPGRADE_STATE=77 cannot be read/);
        assert.equal(r.runDirMade, false);
    });

    test('a hand-over whose checksum does not match: exit 1, nothing touched', () => {
        const dir = makeTempDir();
        const file = path.join(dir, 'state');
        fs.writeFileSync(file, 'wsfleetd-upgrade 1\nexe /x\nsum 0000000000000000\n');
        const fd = fs.openSync(file, 'r');
        try {
            const r = runWithHandover('3', fd);
            assert.equal(r.status, 1, r.stderr);
            assert.match(r.stderr, /the hand-over is damaged/);
            assert.equal(r.runDirMade, false);
        } finally {
            fs.closeSync(fd);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
