// wsctl against a real wsfleetd: the JSON documents scripts rely on, the human tables, and the
// exit codes (0 ok, 1 refused, 2 usage, 3 no supervisor).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { echo, slow } from './lib/worker.mjs';
import {
    closeOrTimeout, fleetdPath, makeTempDir, openMany, ownersOf, runProgram, sleep, startFleet,
    stopFleet, wsctl,
} from './lib/fleet.mjs';

function assertWhole(value, what) {
    assert.ok(Number.isInteger(value) && value >= 0, `${what}: ${JSON.stringify(value)} is not a whole number`);
}

function assertRate(value, what) {
    assert.ok(typeof value === 'number' && Number.isFinite(value) && value >= 0,
        `${what}: ${JSON.stringify(value)} is not a rate`);
}

describe('wsctl with a running fleet', () => {
    let fleet;
    let clients = [];

    before(async () => {
        fleet = await startFleet({ workers: { count: 2, max: 4, drain_timeout: 1 } });
        // Some traffic, so that connections and message rates have something to show. Rates
        // come from the difference of two reports at least a second apart, so the messages go
        // on for a while and the wait is for a rate.
        clients = await openMany(fleet, 6, { concurrency: 6 });
        let sending = true;
        const traffic = (async () => {
            for (let i = 0; sending; i++) {
                await Promise.all(clients.map((ws) => echo(ws, `message ${i}`)));
                await sleep(50);
            }
        })();
        try {
            await fleet.waitWorkers((l) => l.reduce((s, w) => s + w.connections, 0) === clients.length &&
                l.every((w) => w.connections === 0 || w.msgs_in_per_s > 0), slow(8000),
                'reports of the open connections and their messages');
        } finally {
            sending = false;
            await traffic;
        }
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('--json workers: one object per slot with the documented fields', async () => {
        const r = await fleet.ctl(['--json', 'workers']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        const list = r.json;
        assert.ok(Array.isArray(list), r.stdout);
        assert.deepEqual(list.map((w) => w.slot), [0, 1]);
        for (const w of list) {
            const where = `slot ${w.slot}`;
            assertWhole(w.pid, `${where} pid`);
            assert.ok(w.pid > 0, `${where} pid ${w.pid}`);
            assert.equal(w.state, 'running', where);
            assertWhole(w.connections, `${where} connections`);
            assertRate(w.msgs_in_per_s, `${where} msgs_in_per_s`);
            assertRate(w.errors_per_s, `${where} errors_per_s`);
            assertWhole(w.restarts, `${where} restarts`);
            assert.equal(w.restarts, 0, where);
            assertWhole(w.uptime_s, `${where} uptime_s`);
        }
        assert.equal(list.reduce((s, w) => s + w.connections, 0), clients.length);
        assert.ok(list.some((w) => w.msgs_in_per_s > 0), `no message rate: ${r.stdout}`);
        assert.ok(list.every((w) => w.errors_per_s === 0), r.stdout);
        assert.equal(new Set(list.map((w) => w.pid)).size, 2);
    });

    test('--json status: state, workers running and desired, connections', async () => {
        const r = await fleet.ctl(['--json', 'status']);
        assert.equal(r.code, 0, r.stderr);
        const st = r.json;
        assert.equal(typeof st, 'object', r.stdout);
        assert.equal(st.state, 'running');
        assert.equal(st.workers_running, 2);
        assert.equal(st.workers_desired, 2);
        assert.equal(st.connections, clients.length);
    });

    test('human tables: a header and one line per worker; -s SOCKET works like --run-dir', async () => {
        const list = await fleet.workers();
        const r = await wsctl(['-s', path.join(fleet.runDir, 'ctl'), 'workers']);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        assert.equal(lines.length, 1 + list.length, r.stdout);
        assert.match(lines[0], /SLOT/);
        assert.match(lines[0], /PID/);
        for (const w of list) {
            assert.ok(lines.some((l) => l.includes(String(w.pid)) && l.includes('running')),
                `no line for pid ${w.pid}:\n${r.stdout}`);
        }
        const st = await wsctl(['-s', path.join(fleet.runDir, 'ctl'), 'status']);
        assert.equal(st.code, 0, st.stderr);
        assert.match(st.stdout, /running/);
    });

    test('version names both sides', async () => {
        const r = await fleet.ctl(['version']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /wsctl/);
        assert.match(r.stdout, /wsfleetd/);
    });

    test('refusals exit 1 with the reason: scale beyond max, below min, drain of a bad slot', async () => {
        for (const args of [['scale', '5'], ['scale', '0'], ['drain', '2'], ['drain', '99'],
            ['restart', '7']]) {
            const r = await fleet.ctl(args);
            assert.equal(r.code, 1, `wsctl ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
            assert.match(r.stderr, /refused|outside|no such/i, `wsctl ${args.join(' ')}: ${r.stderr}`);
        }
        const r = await fleet.ctl(['--json', 'scale', '5']);
        assert.equal(r.code, 1);
        assert.equal(r.json?.ok, false, r.stdout);
        assert.match(r.json.error, /5/);
        // Nothing changed.
        const st = await fleet.status();
        assert.equal(st.workers_desired, 2);
    });

    test('a second wsfleetd on the same run dir is refused and leaves the first one reachable',
        async () => {
            const r = await runProgram(fleetdPath(), ['--foreground', '--listen', '127.0.0.1:0',
                '--run-dir', fleet.runDir, '--workers', '1'], slow(10000));
            assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
            assert.match(r.stderr, new RegExp(`in use by wsfleetd pid ${fleet.pid}\\b`));
            assert.ok(fs.existsSync(path.join(fleet.runDir, 'ctl')), 'the control socket is gone');
            assert.ok(fs.existsSync(path.join(fleet.runDir, 'workers')), 'the worker socket is gone');
            const st = await fleet.status();
            assert.equal(st.state, 'running');
        });

    test('usage errors exit 2', async () => {
        for (const args of [['bogus'], ['scale'], ['scale', 'x'], ['drain'], ['--json'], [],
            ['status', 'extra'], ['--no-such-flag', 'status']]) {
            const r = await fleet.ctl(args);
            assert.equal(r.code, 2, `wsctl ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
            assert.notEqual(r.stderr, '', `wsctl ${args.join(' ')}: nothing on stderr`);
        }
    });

    test('restart SLOT: that slot drains (1001) and runs a new pid, the other keeps its clients',
        async () => {
            const before = await fleet.workers();
            const owners = ownersOf(clients.map((ws) => ws.clientPort), fleet.port,
                before.map((w) => w.pid));
            const onSlot = (slot) => clients.filter((ws) => owners.get(ws.clientPort) === before[slot].pid);
            const closes = onSlot(1).map((ws) => closeOrTimeout(ws, 1000 + 1000 + slow(5000)));
            const r = await fleet.ctl(['restart', '1']);
            assert.equal(r.code, 0, r.stderr);
            const list = await fleet.waitWorkers((l) => l.length === 2 && l[1].state === 'running' &&
                l[1].pid > 0 && l[1].pid !== before[1].pid, 1000 + 1000 + slow(5000), 'slot 1 restarted');
            assert.equal(list[0].pid, before[0].pid);
            assert.deepEqual((await Promise.all(closes)).map((c) => c.code), closes.map(() => 1001));
            for (const ws of onSlot(0)) {
                assert.equal((await echo(ws, 'slot 0 stays')).data.toString(), 'slot 0 stays');
            }
        });
});

describe('wsctl without a supervisor', () => {
    let dir;

    before(() => {
        dir = makeTempDir();
    });

    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    // With --timeout 60, an exit of its own (wsctl is killed after slow(10000) ms, which shows as
    // no exit code) shows wsctl did not wait for a supervisor it could tell was not there.
    test('an empty run dir: exit 3 naming the socket, at once', async () => {
        for (const json of [[], ['--json']]) {
            const r = await wsctl(['--run-dir', dir, '--timeout', '60', ...json, 'status'], slow(10000));
            assert.equal(r.code, 3, `exit ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
            assert.ok(r.stderr.includes(path.join(dir, 'ctl')), r.stderr);
        }
    });

    test('a run dir that does not exist: exit 3', async () => {
        const r = await wsctl(['--run-dir', path.join(dir, 'nowhere'), 'workers'], slow(10000));
        assert.equal(r.code, 3, r.stderr);
        assert.ok(r.stderr.includes(path.join(dir, 'nowhere', 'ctl')), r.stderr);
    });

    test('a ctl path that is no live socket: exit 3 at once', async () => {
        // (fleet.test.mjs has the real stale socket a SIGKILLed supervisor leaves behind.)
        const sock = path.join(dir, 'ctl');
        fs.writeFileSync(sock, '');
        const r = await wsctl(['-s', sock, '--timeout', '60', '--json', 'workers'], slow(10000));
        assert.equal(r.code, 3, `exit ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
        assert.ok(r.stderr.includes(sock), r.stderr);
    });
});
