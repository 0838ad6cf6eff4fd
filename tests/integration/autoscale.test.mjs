// The autoscaler and rebalancing with real workers and real clients: idle connections scale the
// fleet up and, once gone, back down to the minimum; after a scale-up, 1012 sheds even the
// workers out, with clients that reconnect as the design asks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    countCloses, openMany, reconnectingClients, sleep, startFleet, stopFleet,
} from './lib/fleet.mjs';
import { slow } from './lib/worker.mjs';

function running(list) {
    return list.filter((w) => w.state === 'running');
}

function sumConnections(list) {
    return list.reduce((sum, w) => sum + w.connections, 0);
}

describe('autoscaler', () => {
    test('1,500 idle clients over 2 workers (target 250) scale the fleet to at least 6; when ' +
        'they leave it goes back to 2, dropping no connection', async (t) => {
        const fleet = await startFleet({
            workers: { count: 2, min: 2, max: 8 },
            sections: {
                autoscale: {
                    enabled: 1, target_connections: 250, warmup: 2, up_window: 2,
                    down_window: 6, down_interval: 1,
                },
                // No 1012 sheds here: every close a client sees is its own or a drain's.
                rebalance: { enabled: 0 },
            },
        });
        try {
            const n = 1500;
            const started = Date.now();
            const codes = new Map();
            const clients = await openMany(fleet, n, { concurrency: 100 });
            for (const ws of clients) {
                countCloses(ws, codes);
            }
            const openedMs = Date.now() - started;

            // Warmup and window take 4 s; the rest is a liveness bound.
            const up = await fleet.waitWorkers((l) => running(l).length >= 6, slow(20000),
                'at least 6 running workers');
            const upMs = Date.now() - started;
            // The status sums the workers' last Reports: the new workers' first ones may still
            // be on their way.
            let st = await fleet.status();
            const countedBy = Date.now() + slow(5000);
            while (st.connections !== n && Date.now() < countedBy) {
                await sleep(100);
                st = await fleet.status();
            }
            const human = await fleet.ctl(['status']);
            console.log(`wsctl status, ${upMs} ms after the first of ${n} clients:\n` +
                `${human.stdout}${fleet.lines(/autoscale: up/).join('\n')}`);
            t.diagnostic(`opened in ${openedMs} ms; ${running(up).length} running after ` +
                `${upMs} ms`);
            assert.equal(st.autoscale, true);
            assert.ok(st.workers_running >= 6 && st.workers_running <= 8, JSON.stringify(st));
            assert.ok(st.workers_desired >= 6 && st.workers_desired <= 8, JSON.stringify(st));
            assert.match(st.last_scaling, /^2 -> \d: connections \d+\/250 per worker/,
                JSON.stringify(st));
            assert.equal(st.connections, n, JSON.stringify(st));

            // The new workers warm up (2 s) and the fleet holds: no client is closed meanwhile.
            await sleep(3000);
            const held = await fleet.workers();
            assert.ok(running(held).length >= 6, JSON.stringify(held));
            assert.equal(sumConnections(held), n, JSON.stringify(held));
            assert.deepEqual([...codes], [], 'clients were closed before they left');

            // The clients leave: closes of their own, answered 1000.
            const left = Date.now();
            const gone = clients.map((ws) => new Promise((resolve) => {
                ws.once('close', resolve);
                ws.close(1000, 'bye');
            }));
            await Promise.all(gone);
            for (const ws of clients) {
                fleet.clients.delete(ws);
            }
            const down = await fleet.waitWorkers((l) => l.length === 2 &&
                running(l).length === 2, slow(20000), 'back to 2 running workers');
            const downMs = Date.now() - left;
            const after = await fleet.status();
            t.diagnostic(`back to ${down.length} workers ${downMs} ms after the clients left; ` +
                `last scaling: ${after.last_scaling}`);
            assert.equal(after.workers_running, 2, JSON.stringify(after));
            assert.equal(after.workers_desired, 2, JSON.stringify(after));
            assert.match(after.last_scaling, /^3 -> 2:/, JSON.stringify(after));
            assert.ok(downMs >= 4000, `down after only ${downMs} ms: the 6 s window was not kept`);

            // One at a time, each by draining a worker that held nothing.
            const drains = await fleet.waitLines(/autoscale: down to/, 4);
            assert.ok(drains.length >= 4, drains.join('\n'));
            const drained = await fleet.waitLines(/draining \d+ connections/, 4);
            assert.ok(drained.length >= 4 &&
                drained.every((l) => / draining 0 connections/.test(l)), drained.join('\n'));
            assert.deepEqual([...codes], [[1000, n]], 'close codes the clients saw');
            // It stays at the minimum.
            await sleep(1500);
            assert.equal(running(await fleet.workers()).length, 2);
        } finally {
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });
});

describe('rebalancing', () => {
    test('scale 4 -> 8 under 2,000 reconnecting clients: 1012 sheds bring every worker within ' +
        '±25 % of the mean', async (t) => {
        const fleet = await startFleet({
            workers: { count: 4, max: 8 },
            // min_excess 20: with the default 50, workers 50 above a mean of 250 shed nothing,
            // so the others could stay more than 25 % below it.
            sections: { rebalance: { enabled: 1, interval: 1, min_excess: 20 } },
        });
        let clients;
        try {
            const n = 2000;
            clients = await reconnectingClients(fleet, n, { delayMs: [50, 250] });
            const four = await fleet.waitWorkers((l) => sumConnections(l) === n, slow(20000),
                `Reports adding up to ${n} connections`);
            t.diagnostic(`on 4: ${four.map((w) => w.connections)}`);

            const scaledAt = Date.now();
            const r = await fleet.ctl(['scale', '8']);
            assert.equal(r.code, 0, r.stderr);
            let settled;
            let last;
            const deadline = scaledAt + slow(30000);
            while (Date.now() < deadline) {
                last = await fleet.workers();
                const sum = sumConnections(last);
                const mean = sum / 8;
                if (running(last).length === 8 && sum === n && clients.open() === n &&
                    last.every((w) => Math.abs(w.connections - mean) <= 0.25 * mean)) {
                    settled = last;
                    break;
                }
                await sleep(100);
            }
            const settleMs = Date.now() - scaledAt;
            assert.ok(settled, `not within ±25 % of the mean ${settleMs} ms after scale 8: ` +
                `${last?.map((w) => w.connections)}; closes ${JSON.stringify([...clients.codes])}` +
                `\n${fleet.tail()}`);
            const sheds = fleet.lines(/rebalance: slot \d+ holds \d+ connections: shedding/);
            t.diagnostic(`settled ${settleMs} ms after scale 8: ` +
                `${settled.map((w) => w.connections)}; ` +
                `${clients.codes.get(1012) ?? 0} closed with 1012 in ${sheds.length} sheds`);
            assert.ok((clients.codes.get(1012) ?? 0) > 0, 'no client was shed with 1012');
            assert.deepEqual([...clients.codes.keys()], [1012],
                `close codes: ${JSON.stringify([...clients.codes])}`);
            assert.deepEqual(clients.failures, [], 'reconnects that failed');
            // A shed never takes more than 10 % of a worker's connections.
            for (const line of sheds) {
                const [, holds, shed] = /holds (\d+) connections: shedding (\d+)/.exec(line);
                assert.ok(Number(shed) <= Number(holds) / 10, line);
            }
            // And it stays balanced: shedding goes on only from workers above the mean + 10 %.
            await sleep(2000);
            const later = await fleet.waitWorkers((l) => sumConnections(l) === n, slow(5000),
                `Reports adding up to ${n} connections again`);
            for (const w of later) {
                assert.ok(Math.abs(w.connections - n / 8) <= 0.25 * (n / 8),
                    `slot ${w.slot} holds ${w.connections}: ${later.map((x) => x.connections)}`);
            }
            assert.deepEqual([...clients.codes.keys()], [1012],
                `close codes: ${JSON.stringify([...clients.codes])}`);
            const st = await fleet.status();
            assert.equal(st.autoscale, false, 'scale N leaves autoscaling off');
        } finally {
            clients?.stop();
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });

    test('a worker sheds its oldest connections first, so a client just moved is not moved again',
        async (t) => {
            const fleet = await startFleet({
                workers: { count: 1, max: 2 },
                sections: { rebalance: { enabled: 1, interval: 1, min_excess: 10 } },
            });
            const old = [];
            const young = [];
            try {
                old.push(...await openMany(fleet, 200, { concurrency: 50 }));
                await sleep(100);
                young.push(...await openMany(fleet, 100, { concurrency: 50 }));
                const oldCodes = new Map();
                const youngCodes = new Map();
                old.forEach((ws) => countCloses(ws, oldCodes));
                young.forEach((ws) => countCloses(ws, youngCodes));
                await fleet.waitWorkers((l) => sumConnections(l) === 300, slow(5000),
                    'Reports counting the 300');
                const r = await fleet.ctl(['scale', '2']);
                assert.equal(r.code, 0, r.stderr);
                // Each shed takes 10 % of the 300 on slot 0; the first few all come from the
                // 200 opened first.
                const deadline = Date.now() + slow(15000);
                while ((oldCodes.get(1012) ?? 0) < 50 && Date.now() < deadline) {
                    await sleep(100);
                }
                t.diagnostic(`shed: ${oldCodes.get(1012) ?? 0} of the older 200, ` +
                    `${youngCodes.get(1012) ?? 0} of the younger 100`);
                assert.ok((oldCodes.get(1012) ?? 0) >= 50,
                    `only ${oldCodes.get(1012) ?? 0} older clients shed\n${fleet.tail()}`);
                assert.equal(youngCodes.size, 0,
                    `younger clients closed: ${JSON.stringify([...youngCodes])}`);
            } finally {
                for (const ws of [...old, ...young]) {
                    ws.terminate();
                }
                const problem = await stopFleet(fleet);
                assert.equal(problem, null, problem ?? '');
            }
        });
});
