// The open-file limit: started with a soft limit of 1024 (a typical host's), wsfleetd and its
// workers raise it to the hard limit, so a 2-worker fleet holds 3,000 WebSocket clients at once.
// ctest runs this file with the test process's own soft limit raised to its hard limit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
    Fleet, FLEET_READY_TIMEOUT_MS, fleetdPath, iniText, makeTempDir, openMany, stopFleet,
    TEST_WORKERS,
} from './lib/fleet.mjs';
import { echo, spawned } from './lib/worker.mjs';

const CLIENTS = 3000;
const LOW_SOFT_LIMIT = 1024;

// { soft, hard } of "Max open files" in /proc/PID/limits ("unlimited" as Infinity).
function nofile(pid) {
    const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n')
        .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/)
        .map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return { soft, hard };
}

// Starts a 2-worker fleet through `sh -c '<ulimit> && exec wsfleetd ...'`; waits until it runs.
async function startLimitedFleet(ulimit) {
    const dir = makeTempDir();
    const runDir = path.join(dir, 'run');
    const configPath = path.join(dir, 'fleet.ini');
    fs.writeFileSync(configPath, iniText({ workers: { ...TEST_WORKERS, count: 2 } }));
    const args = ['--foreground', '-c', configPath, '--listen', '127.0.0.1:0', '--run-dir',
        runDir];
    const child = spawn('sh', ['-c', `${ulimit} && exec "$0" "$@"`, fleetdPath(), ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    const fleet = new Fleet(child, dir, runDir, configPath);
    try {
        await spawned(child, FLEET_READY_TIMEOUT_MS, 'sh -c wsfleetd');
        await fleet.waitReady(FLEET_READY_TIMEOUT_MS);
        await fleet.waitRunning(2);
    } catch (err) {
        await fleet.stop();
        throw err;
    }
    return fleet;
}

describe(`a 2-worker fleet started with ulimit -Sn ${LOW_SOFT_LIMIT}`, () => {
    let fleet;
    const own = nofile(process.pid);

    before(async () => {
        // The clients live in this process: it needs its own room for them.
        assert.ok(own.soft >= CLIENTS + 500,
            `this test process's soft open-file limit ${own.soft} is below ${CLIENTS + 500}`);
        // Two workers of 1,500 clients each only fit when the hard limit allows it.
        assert.ok(own.hard >= 2000, `the hard open-file limit ${own.hard} is below 2000`);
        fleet = await startLimitedFleet(`ulimit -Sn ${LOW_SOFT_LIMIT}`);
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('the supervisor and each worker run with the hard limit as their soft limit', async () => {
        const sup = nofile(fleet.pid);
        assert.equal(sup.hard, own.hard);
        assert.equal(sup.soft, own.hard);
        for (const w of await fleet.workers()) {
            const lim = nofile(w.pid);
            assert.equal(lim.soft, own.hard, `worker ${w.pid}: ${JSON.stringify(lim)}`);
        }
    });

    test(`${CLIENTS} WebSocket clients upgrade and are held open at once`, async () => {
        const clients = await openMany(fleet, CLIENTS, { concurrency: 100 });
        assert.equal(clients.length, CLIENTS);
        assert.ok(clients.every((ws) => ws.readyState === ws.OPEN));
        // Both workers took their share beyond the 1024 they would have had, and still echo.
        await fleet.waitWorkers((list) => list.reduce((n, w) => n + (w.connections ?? 0), 0) >=
            CLIENTS, 10000, `${CLIENTS} connections in the workers' reports`);
        const got = await echo(clients[CLIENTS - 1], 'last one');
        assert.equal(got.data.toString(), 'last one');
        assert.equal(fleet.lines(/accept failed/).length, 0, fleet.tail());
    });
});

describe(`a fleet whose hard limit is ${LOW_SOFT_LIMIT}`, () => {
    let fleet;

    before(async () => {
        fleet = await startLimitedFleet(`ulimit -n ${LOW_SOFT_LIMIT}`);
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('says once, with both numbers, that the default max_connections cannot fit', () => {
        const lines = fleet.lines(/max_connections/);
        assert.equal(lines.length, 1, fleet.tail());
        assert.match(lines[0], /wsfleetd\[\d+\] warn: .*max_connections 10000 .*limit is 1024/);
        assert.equal(nofile(fleet.pid).soft, LOW_SOFT_LIMIT);
    });
});
