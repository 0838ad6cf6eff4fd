// Fault points for drills, switched on only through the supervisor (wsctl fault): each does what
// it says and reverts by itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { echo, openWs } from './lib/worker.mjs';
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
        const r = await fleet.ctl(['fault', '0', 'error', '--rate', '1', '--for', '1.5']);
        assert.equal(r.code, 0, r.stderr);
        const closed = closeOrTimeout(ws, 5000);
        ws.send('doomed');
        assert.equal((await closed).code, 1011);
        assert.equal(await tryUpgrade(fleet.url()), 500);
        // Counted as server-side failures in the Reports.
        await fleet.waitWorkers((l) => l[0].errors_per_s > 0, 5000, 'an error rate');
        await sleep(1700);
        assert.equal(await tryUpgrade(fleet.url()), 'open', 'the fault did not revert');
    });

    test('latency: every message waits the given time', async () => {
        const ws = await openWs(fleet);
        const r = await fleet.ctl(['fault', '0', 'latency', '--ms', '200', '--for', '2']);
        assert.equal(r.code, 0, r.stderr);
        const t0 = Date.now();
        await echo(ws, 'slow');
        assert.ok(Date.now() - t0 >= 190, `echo took ${Date.now() - t0} ms`);
        await sleep(2200);
        // The fastest of three echoes: one slow turn of a busy test machine is not the fault.
        let fastest = Infinity;
        for (let i = 0; i < 3; i++) {
            const t1 = Date.now();
            await echo(ws, 'fast again');
            fastest = Math.min(fastest, Date.now() - t1);
        }
        assert.ok(fastest < 150, `every echo after the fault took ${fastest} ms or more`);
        ws.close();
    });

    test('memory: the worker grows, then gives it back to the kernel', async () => {
        const [w] = await fleet.workers();
        const before = vmRssBytes(w.pid);
        const endsBefore = fleet.lines(/fault over/).length;
        const r = await fleet.ctl(['fault', '0', 'memory', '--rate', '64', '--for', '2']);
        assert.equal(r.code, 0, r.stderr);
        let peak = before;
        const deadline = Date.now() + 10000;
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
        await fleet.waitWorkers((l) => l[0].state === 'running' && l[0].pid !== old, 5000,
            'a new worker in slot 0');
        assert.ok(fleet.lines(new RegExp(`pid ${old} killed by signal 6`)).length === 1, fleet.tail());
    });

    test('hang: the loop blocks, the supervisor replaces the worker after hang_timeout', async () => {
        const old = (await fleet.workers())[0].pid;
        const r = await fleet.ctl(['fault', '0', 'hang', '--for', '30']);
        assert.equal(r.code, 0, r.stderr);
        await fleet.waitWorkers((l) => l[0].state === 'running' && l[0].pid !== old, 8000,
            'a new worker in slot 0');
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
