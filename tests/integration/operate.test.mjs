// Operating a running fleet: reload (wsctl and SIGHUP), shutdown with a drain time, and the
// permissions of the control socket.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    closeOrTimeout, iniText, openMany, signalPid, sleep, startFleet, stopFleet, TEST_WORKERS,
    waitGone,
} from './lib/fleet.mjs';
import { slow } from './lib/worker.mjs';

describe('reload', () => {
    test('a changed [worker] setting restarts the workers one at a time; a max change is refused',
        async () => {
            const fleet = await startFleet({
                workers: { count: 2, drain_timeout: 0.5 },
                sections: { worker: { max_message: 2000 } },
            });
            try {
                const before = (await fleet.workers()).map((w) => w.pid);
                fs.writeFileSync(fleet.configPath, iniText({
                    workers: { ...TEST_WORKERS, count: 2, drain_timeout: 0.5 },
                    worker: { max_message: 3000 },
                }));
                const r = await fleet.ctl(['reload']);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stdout, /one at a time/);
                const after = await fleet.waitWorkers((l) => l.length === 2 &&
                    l.every((w, i) => w.state === 'running' && w.pid !== before[i]), slow(10000),
                    'both slots running new workers');
                assert.equal(after.length, 2);
                const starts = fleet.lines(/started worker pid/);
                assert.equal(starts.length, 4, starts.join('\n'));
                // The second slot was marked non-accepting before the first one's replacement
                // was up, and its own restart followed that Hello.
                assert.ok(fleet.lines(/slot 1: worker pid \d+ ready/).length >= 2, fleet.tail());

                // Settings fixed for the supervisor's life: a changed max is refused whole.
                fs.writeFileSync(fleet.configPath, iniText({
                    workers: { ...TEST_WORKERS, count: 2, max: 6, drain_timeout: 0.5 },
                }));
                const refused = await fleet.ctl(['reload']);
                assert.equal(refused.code, 1, refused.stdout + refused.stderr);
                assert.match(refused.stderr, /\[workers\] max/);
                const st = await fleet.status();
                assert.equal(st.workers_max, 8);

                // SIGHUP reloads too: a new count scales the fleet.
                fs.writeFileSync(fleet.configPath, iniText({
                    workers: { ...TEST_WORKERS, count: 3, drain_timeout: 0.5 },
                }));
                signalPid(fleet.pid, 'SIGHUP');
                await fleet.waitRunning(3, slow(10000));
            } finally {
                const problem = await stopFleet(fleet);
                assert.equal(problem, null, problem ?? '');
            }
        });
});

describe('shutdown', () => {
    test('wsctl shutdown --drain 1: clients get 1001 spread over the drain, wsfleetd exits 0',
        async () => {
            // drain_timeout is far longer than any wait below: only --drain 1 can end in time.
            const fleet = await startFleet({ workers: { count: 2, drain_timeout: 60 } });
            try {
                const pids = (await fleet.workers()).map((w) => w.pid);
                const clients = await openMany(fleet, 20, { concurrency: 20 });
                const started = Date.now();
                const bound = 1000 + slow(8000);
                const closes = clients.map((ws) => closeOrTimeout(ws, bound).then((c) => ({
                    ...c, at: Date.now() - started,
                })));
                const r = await fleet.ctl(['shutdown', '--drain', '1']);
                assert.equal(r.code, 0, r.stderr);
                const exit = await Promise.race([fleet.exited, sleep(bound).then(() => null)]);
                assert.deepEqual(exit, { code: 0, signal: null }, fleet.tail());
                assert.deepEqual(await waitGone(pids, slow(2000)), [], 'workers outlived the supervisor');
                const done = await Promise.all(closes);
                assert.ok(done.every((c) => c.code === 1001), `codes ${done.map((c) => c.code)}`);
                const times = done.map((c) => c.at).sort((a, b) => a - b);
                // Gradual: not everyone at once; and everyone within the bound, far below
                // drain_timeout.
                assert.ok(times[times.length - 1] - times[0] >= 300, `close times ${times}`);
            } finally {
                const problem = await stopFleet(fleet);
                assert.equal(problem, null, problem ?? '');
            }
        });
});

describe('control socket', () => {
    test('lives in a 0700 directory and is 0600', async () => {
        const fleet = await startFleet({ workers: { count: 1 } });
        try {
            const dirMode = fs.statSync(fleet.runDir).mode & 0o777;
            const sockMode = fs.statSync(path.join(fleet.runDir, 'ctl')).mode & 0o777;
            assert.equal(dirMode, 0o700, `run dir mode ${dirMode.toString(8)}`);
            assert.equal(sockMode, 0o600, `ctl socket mode ${sockMode.toString(8)}`);
        } finally {
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });
});
