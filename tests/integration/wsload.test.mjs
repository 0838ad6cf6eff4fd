// The real wsload against real workers and fleets: echo counts and latency percentiles, source
// address spreading, reconnection after a killed worker, close codes that must or must not bring
// a client back, slow clients cut off by the backlog cap, and garbage clients every one of which
// the server closes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { canEcho, slow, startWorker, stopWorker } from './lib/worker.mjs';
import {
    makeTempDir, signalPid, sleep, startFleet, stopFleet, waitFor,
} from './lib/fleet.mjs';
import { describeRun, startWsload } from './lib/wsload.mjs';

// Under AddressSanitizer wsload and the servers run a few times slower: bounds allow for that.
const RUN_LIMIT_MS = 60000;
// wsload pushes as fast as the worker echoes: far over the default msg_rate of 100/s.
const NO_RATE_LIMIT = ['--msg-rate', '0'];

async function runWsload(args, ms = RUN_LIMIT_MS) {
    return startWsload(args, ms).done;
}

// Asserts what every clean echo run shows: all sent echoed, nothing lost or wrong, percentiles
// present and ordered.
function assertCleanEcho(r) {
    assert.equal(r.code, 0, describeRun(r));
    const j = r.json;
    assert.ok(j, describeRun(r));
    assert.equal(j.errors, 0, describeRun(r));
    assert.equal(j.echo_errors, 0);
    assert.equal(j.lost, 0);
    assert.equal(j.disconnects, 0);
    assert.ok(j.sent > 0, describeRun(r));
    assert.equal(j.echoed, j.sent, describeRun(r));
    const lat = j.latency_us;
    assert.equal(lat.count, j.echoed);
    assert.ok(lat.p50 > 0, JSON.stringify(lat));
    assert.ok(lat.min <= lat.p50 && lat.p50 <= lat.p99 && lat.p99 <= lat.p999 &&
        lat.p999 <= lat.max, JSON.stringify(lat));
}

// Client-side sockets connected to 127.0.0.1:port, from /proc/net/tcp: [{ ip, port, state }],
// each once (a read of /proc/net/tcp can show an entry twice while other connections churn).
function clientSockets(serverPort) {
    const out = new Map();
    const text = fs.readFileSync('/proc/net/tcp', 'utf8');
    for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 4) {
            continue;
        }
        const [localIp, localPort] = f[1].split(':');
        const [remoteIp, remotePort] = f[2].split(':');
        if (remoteIp === '0100007F' && parseInt(remotePort, 16) === serverPort) {
            const b = Buffer.from(localIp, 'hex');
            out.set(f[1], {
                ip: `${b[3]}.${b[2]}.${b[1]}.${b[0]}`,
                port: parseInt(localPort, 16),
                state: f[3],
            });
        }
    }
    return [...out.values()];
}

describe('wsload against one worker', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--max-message', '4096', ...NO_RATE_LIMIT] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('--rate: the schedule is kept, every message echoed, latency percentiles ordered',
        async () => {
            const r = await runWsload(['--port', String(worker.port), '--connections', '10',
                '--rate', '50', '--duration', '2', '--json']);
            assertCleanEcho(r);
            assert.equal(r.json.rate, 50);
            // 10 connections x 50/s over the window wsload measured (secs: a loaded machine may
            // end it late), give or take the echoes in flight at either end. The schedule catches
            // up after a late tick, so a slow loop changes when messages go, not how many.
            const want = 10 * 50 * r.json.secs;
            assert.ok(r.json.secs > 0, describeRun(r));
            assert.ok(r.json.msgs >= 0.8 * want && r.json.msgs <= 1.1 * want + 10,
                `${r.json.msgs} echoes for ${want.toFixed(0)} scheduled\n${describeRun(r)}`);
        });

    test('--inflight and --messages: exactly that many messages, all echoed', async () => {
        const r = await runWsload(['--port', String(worker.port), '--connections', '20',
            '--inflight', '8', '--messages', '20000', '--json']);
        assertCleanEcho(r);
        assert.equal(r.json.sent, 20000);
        assert.equal(r.json.echoed, 20000);
        const d = await runWsload(['--port', String(worker.port), '--connections', '20',
            '--inflight', '8', '--duration', '1', '--binary', '--size', '300', '--json']);
        assertCleanEcho(d);
        // A count, not a speed: how fast a (sanitized, loaded) machine echoes is not this test's.
        assert.ok(d.json.msgs > 0 && d.json.msgs_per_s > 0, describeRun(d));
    });

    test('the result line keeps the fields bench/run reads', async () => {
        const r = await runWsload(['--port', String(worker.port), '--connections', '5',
            '--inflight', '2', '--duration', '0.5', '--server-pid', String(worker.pid)]);
        assert.equal(r.code, 0, describeRun(r));
        const line = r.stdout.trim().split('\n').pop();
        for (const field of ['mode=echo', 'msgs=', 'msgs_per_s=', 'errors=0', 'client_cpu_pct=',
            'server_us_per_msg=', 'lat_p99_us=']) {
            assert.ok(line.includes(field), `${field} missing in ${line}`);
        }
        const c = await runWsload(['--port', String(worker.port), '--mode', 'connect',
            '--connections', '4', '--duration', '0.5']);
        assert.equal(c.code, 0, describeRun(c));
        assert.match(c.stdout, /^wsload mode=connect conns=4 upgrades=[1-9]\d* .*errors=0 /m);
    });

    test('--sources 4: connections come from four loopback addresses', async () => {
        const run = startWsload(['--port', String(worker.port), '--mode', 'idle',
            '--connections', '16', '--sources', '4', '--duration', String(slow(3000) / 1000), '--json'],
        RUN_LIMIT_MS);
        let ips = new Set();
        const deadline = Date.now() + slow(10000);
        while (Date.now() < deadline) {
            const socks = clientSockets(worker.port).filter((s) => s.state === '01');
            if (socks.length >= 16) {
                ips = new Set(socks.map((s) => s.ip));
                break;
            }
            await sleep(50);
        }
        const r = await run.done;
        assert.equal(r.code, 0, describeRun(r));
        assert.deepEqual([...ips].sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
        assert.equal(r.json.up_peak, 16);
    });

    test('messages over --max-message: closed 1009, given up, never reconnected', async () => {
        const r = await runWsload(['--port', String(worker.port), '--connections', '3',
            '--size', '5000', '--duration', '2', '--json']);
        assert.equal(r.code, 1, describeRun(r));
        const j = r.json;
        assert.equal(j.close_codes['1009'], 3, describeRun(r));
        assert.equal(j.disconnects, 3);
        assert.equal(j.gave_up, 3);
        assert.equal(j.reconnects, 0);
        assert.equal(j.attempts, 3, 'a 1009 must not bring a client back');
        assert.equal(j.echoed, 0);
        assert.ok(await canEcho(worker));
    });

    test('garbage: many attempts, each one closed or refused by the server, which keeps serving',
        async () => {
            const r = await runWsload(['--port', String(worker.port), '--kind', 'garbage',
                '--connections', '10', '--garbage-rate', '100', '--duration', '2', '--json']);
            assert.equal(r.code, 0, describeRun(r));
            const j = r.json;
            // Many attempts (100/s for 2 s is the pace asked, not a speed checked: each waits
            // for the server's answer, which a loaded machine gives later).
            assert.ok(j.attempts >= 40, describeRun(r));
            const c = j.by_cause;
            // Every attempt ended by the server: a close frame, an HTTP error, or EOF.
            assert.equal(c.connect + c.refused + c.protocol + c.echo, 0, describeRun(r));
            assert.ok(c.close > 0 && c.handshake > 0, JSON.stringify(c));
            const answered = c.close + c.handshake + c.abnormal;
            assert.ok(answered >= j.attempts - 10 && answered <= j.attempts, describeRun(r));
            for (const code of Object.keys(j.close_codes)) {
                assert.ok(['1002', '1007', '1009'].includes(code), JSON.stringify(j.close_codes));
            }
            assert.equal(j.reconnects, 0);
            assert.ok(worker.running);
            assert.ok(await canEcho(worker));
        });
});

describe('wsload slow clients', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--max-backlog', '65536', '--close-timeout', '1', ...NO_RATE_LIMIT] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('clients that never read are cut off at the backlog cap and reported', async () => {
        const r = await runWsload(['--port', String(worker.port), '--kind', 'slow',
            '--connections', '3', '--size', '1024', '--duration', '6', '--json']);
        assert.equal(r.code, 0, describeRun(r));
        const j = r.json;
        assert.equal(j.upgrades, 3, describeRun(r));
        assert.equal(j.disconnects, 3, describeRun(r));
        assert.equal(j.by_cause.abnormal, 3, describeRun(r));
        assert.equal(j.gave_up, 3);
        assert.equal(j.reconnects, 0);
        assert.equal(j.attempts, 3);
        assert.equal(j.up_at_end, 0);
        assert.ok(j.bytes_out > 3 * 65536, describeRun(r));
        // The worker's stderr is read apart from wsload's exit: wait for its lines.
        await waitFor(() => worker.lines(/backlog, closing with 1008/).length >= 3, slow(10000),
            'three backlog closes in the log', () => worker.stderr);
        assert.equal(worker.lines(/backlog, closing with 1008/).length, 3, worker.stderr);
        assert.ok(await canEcho(worker));
    });
});

describe('wsload reconnecting to a fleet', () => {
    let fleet;
    let dir;

    before(async () => {
        fleet = await startFleet({ workers: { count: 2, drain_timeout: 1 }, sections: { worker: { msg_rate: 0 } } });
        dir = makeTempDir();
    });

    after(async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('SIGKILL of a worker: every dropped client comes back after the backoff', async () => {
        const records = path.join(dir, 'records.txt');
        const inflight = 4;
        // Long enough for the dropped clients to come back before the end even on a slow run:
        // up_at_end below counts them.
        const run = startWsload(['--port', String(fleet.port), '--connections', '20',
            '--inflight', String(inflight), '--duration', String(slow(6000) / 1000), '--json',
            '--records', records], RUN_LIMIT_MS);
        const workers = await fleet.waitWorkers((l) => l.some((w) => w.state === 'running' &&
            w.connections > 0), slow(5000), 'a worker with clients');
        const victim = workers.find((w) => w.state === 'running' && w.connections > 0);
        assert.ok(victim.pid > 0, JSON.stringify(workers));
        signalPid(victim.pid, 'SIGKILL');
        const r = await run.done;
        const j = r.json;
        assert.ok(j, describeRun(r));
        assert.ok(r.code === 1, describeRun(r)); // the disconnects are errors of the run
        assert.ok(j.disconnects > 0, describeRun(r));
        assert.equal(j.by_cause.abnormal, j.disconnects, describeRun(r));
        assert.equal(j.reconnects, j.disconnects, describeRun(r));
        assert.equal(j.up_at_end, 20, describeRun(r));
        assert.equal(j.gave_up, 0);
        assert.equal(j.echo_errors, 0);
        assert.ok(j.lost <= inflight * j.disconnects, describeRun(r));
        const rt = j.reconnect_ms;
        assert.equal(rt.count, j.reconnects);
        assert.ok(rt.min >= 500, `reconnected after ${rt.min} ms, sooner than the backoff allows`);
        // Every dropped client came back within the run (reconnects = disconnects, all up at the
        // end): how soon is the backoff's business, and only its lower end is exact.
        assert.ok(rt.p50 <= rt.p99 && rt.p99 <= rt.max, JSON.stringify(rt));

        const lines = fs.readFileSync(records, 'utf8').split('\n')
            .filter((l) => l !== '' && !l.startsWith('#'));
        assert.equal(lines.length, 20);
        let disconnects = 0;
        let echoed = 0;
        for (const [i, line] of lines.entries()) {
            const f = line.split(' ').map(Number);
            assert.equal(f.length, 9, line);
            assert.equal(f[0], i);
            const [, sent, echo, lost, disc, rec, downMax, attempts, failed] = f;
            assert.equal(rec, disc, line);
            assert.equal(attempts, 1 + rec + failed, line);
            assert.ok(lost <= inflight * disc && echo + lost <= sent, line);
            if (disc > 0) {
                assert.ok(downMax >= 500 && downMax <= rt.max, line);
            }
            disconnects += disc;
            echoed += echo;
        }
        assert.equal(disconnects, j.disconnects);
        assert.equal(echoed, j.echoed);
    });

    test('a drain (1001): the clients of the drained worker reconnect', async () => {
        await fleet.waitRunning(2);
        const run = startWsload(['--port', String(fleet.port), '--connections', '10',
            '--rate', '20', '--duration', String(slow(6000) / 1000), '--json'], RUN_LIMIT_MS);
        const workers = await fleet.waitWorkers((l) => l.some((w) => w.state === 'running' &&
            w.connections > 0), slow(5000), 'a worker with clients');
        const slot = workers.find((w) => w.state === 'running' && w.connections > 0).slot;
        const d = await fleet.ctl(['drain', String(slot)]);
        assert.equal(d.code, 0, d.stderr);
        const r = await run.done;
        const j = r.json;
        assert.ok(j, describeRun(r));
        assert.ok(j.close_codes['1001'] > 0, describeRun(r));
        assert.equal(j.disconnects, j.close_codes['1001'], describeRun(r));
        assert.equal(j.reconnects, j.disconnects, describeRun(r));
        assert.equal(j.gave_up, 0);
        assert.equal(j.up_at_end, 10, describeRun(r));
        assert.ok(j.reconnect_ms.min >= 500, JSON.stringify(j.reconnect_ms));
    });
});
