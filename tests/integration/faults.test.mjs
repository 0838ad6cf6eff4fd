// Fault points for drills, switched on only through the supervisor (wsctl fault): each does what
// it says and reverts by itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { echo, openWs, slow } from './lib/worker.mjs';
import { closeOrTimeout, sleep, startFleet, stopFleet } from './lib/fleet.mjs';

const MIB = 1024 * 1024;

// The resident set of `pid` in bytes, from /proc/PID/status.
function vmRssBytes(pid) {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    assert.ok(m, `no VmRSS for pid ${pid}`);
    return Number(m[1]) * 1024;
}

// Opens a client and reports how the upgrade went: 'open' or the HTTP status.
function tryUpgrade(url) {
    return new Promise((resolve) => {
        const ws = new WebSocket(url, { handshakeTimeout: 3000 });
        ws.once('open', () => {
            ws.terminate();
            resolve('open');
        });
        ws.once('unexpected-response', (req, res) => {
            req.destroy();
            resolve(res.statusCode);
        });
        ws.once('error', (err) => resolve(`error ${err.message}`));
    });
}

// Waits until the fleet's log has more than `before` lines matching `re`, and asserts it did.
async function waitLines(fleet, re, before) {
    const deadline = Date.now() + slow(8000);
    while (fleet.lines(re).length <= before && Date.now() < deadline) {
        await sleep(50);
    }
    assert.ok(fleet.lines(re).length > before, `no new line ${re}:\n${fleet.tail()}`);
}

// wsctl fault 0 ARGS, then the worker's line saying it has the fault: wsctl can return before
// the command reaches the worker, and a message sent meanwhile would not meet the fault.
async function inject(fleet, args) {
    const before = fleet.lines(/fault injected by the supervisor/).length;
    const r = await fleet.ctl(['fault', '0', ...args]);
    assert.equal(r.code, 0, r.stderr);
    await waitLines(fleet, /fault injected by the supervisor/, before);
}

describe('fault points', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 1, hang_timeout: 2, kill_grace: 1, report_interval: 0.5 },
            sections: { drills: { enabled: 'yes' } },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('error: handshakes fail 500 and messages close 1011 until the fault ends', async () => {
        const ws = await openWs(fleet);
        const endsBefore = fleet.lines(/fault over/).length;
        await inject(fleet, ['error', '--rate', '1', '--for', String(slow(3000) / 1000)]);
        const closed = closeOrTimeout(ws, slow(5000));
        ws.send('doomed');
        assert.equal((await closed).code, 1011);
        assert.equal(await tryUpgrade(fleet.url()), 500);
        // Counted as server-side failures in the Reports.
        await fleet.waitWorkers((l) => l[0].errors_per_s > 0, slow(5000), 'an error rate');
        const deadline = Date.now() + slow(8000);
        while (fleet.lines(/fault over/).length === endsBefore && Date.now() < deadline) {
            await sleep(100);
        }
        assert.equal(fleet.lines(/fault over/).length, endsBefore + 1, fleet.tail());
        assert.equal(await tryUpgrade(fleet.url()), 'open', 'the fault did not revert');
    });

    test('latency: every message waits the given time', async () => {
        const ws = await openWs(fleet);
        const endsBefore = fleet.lines(/fault over/).length;
        await inject(fleet, ['latency', '--ms', '500', '--for', String(slow(2000) / 1000)]);
        const t0 = Date.now();
        await echo(ws, 'slow');
        assert.ok(Date.now() - t0 >= 490, `echo took ${Date.now() - t0} ms`);
        const deadline = Date.now() + slow(8000);
        while (fleet.lines(/fault over/).length === endsBefore && Date.now() < deadline) {
            await sleep(100);
        }
        assert.equal(fleet.lines(/fault over/).length, endsBefore + 1, fleet.tail());
        // Under the fault no echo can come back in less than its 500 ms; the fastest of three
        // after it does (one slow turn of a busy machine is not the fault).
        let fastest = Infinity;
        for (let i = 0; i < 3; i++) {
            const t1 = Date.now();
            await echo(ws, 'fast again');
            fastest = Math.min(fastest, Date.now() - t1);
        }
        assert.ok(fastest < 500, `every echo after the fault took ${fastest} ms or more`);
        ws.close();
    });

    test('memory: the worker grows, then gives it back to the kernel', async () => {
        const [w] = await fleet.workers();
        const before = vmRssBytes(w.pid);
        const endsBefore = fleet.lines(/fault over/).length;
        const r = await fleet.ctl(['fault', '0', 'memory', '--rate', '64', '--for', '2']);
        assert.equal(r.code, 0, r.stderr);
        let peak = before;
        const deadline = Date.now() + slow(10000);
        while (fleet.lines(/fault over/).length === endsBefore && Date.now() < deadline) {
            peak = Math.max(peak, vmRssBytes(w.pid));
            await sleep(50);
        }
        assert.equal(fleet.lines(/fault over/).length, endsBefore + 1, fleet.tail());
        // 64 MiB/s for 2 s: 128 MiB at the end, at least half of it seen on the way.
        assert.ok(peak > before + 64 * MIB, `VmRSS ${before} -> peak ${peak}`);
        // The fault's pages were one mapping, unmapped when it ended: the RSS is back near where
        // it started (the bound leaves 24 MiB for anything else the worker touched meanwhile).
        const after = vmRssBytes(w.pid);
        assert.ok(after < before + 24 * MIB,
            `VmRSS ${before} before, ${peak} at the peak, still ${after} after the fault`);
        assert.equal((await fleet.workers())[0].pid, w.pid, 'the worker was replaced meanwhile');
    });

    test('crash: the worker aborts and its slot runs a new pid', async () => {
        const old = (await fleet.workers())[0].pid;
        const r = await fleet.ctl(['fault', '0', 'crash']);
        assert.equal(r.code, 0, r.stderr);
        await fleet.waitWorkers((l) => l[0].state === 'running' && l[0].pid !== old, slow(5000),
            'a new worker in slot 0');
        assert.ok(fleet.lines(new RegExp(`pid ${old} killed by signal 6`)).length === 1, fleet.tail());
    });

    test('hang: the loop blocks, the supervisor replaces the worker after hang_timeout', async () => {
        const old = (await fleet.workers())[0].pid;
        const r = await fleet.ctl(['fault', '0', 'hang', '--for', '30']);
        assert.equal(r.code, 0, r.stderr);
        await fleet.waitWorkers((l) => l[0].state === 'running' && l[0].pid !== old,
            2000 + 1000 + slow(5000), 'a new worker in slot 0');
        assert.ok(fleet.lines(new RegExp(`pid ${old} sent no report`)).length === 1, fleet.tail());
    });

    test('bad faults are refused: usage 2 from wsctl, 1 from the supervisor', async () => {
        for (const args of [['fault', '0', 'bogus'], ['fault', '0', 'error'],
            ['fault', '0', 'error', '--rate', '2'], ['fault', '0', 'latency'], ['fault', '0'],
            ['status', '--rate', '1']]) {
            const r = await fleet.ctl(args);
            assert.equal(r.code, 2, `wsctl ${args.join(' ')}: exit ${r.code} ${r.stderr}`);
        }
        const r = await fleet.ctl(['fault', '5', 'crash']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /no such slot/);
    });
});
