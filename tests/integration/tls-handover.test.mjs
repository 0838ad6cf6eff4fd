// TLS listeners across a live upgrade and an adoption: a fleet with [tls] listen is upgraded in
// place (wsctl upgrade), then its supervisor is SIGKILLed and a new one adopts the workers. wss
// clients echoing all along are never closed and every echo is answered; new wss handshakes are
// served on the same port afterwards, and a session from before resumes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { numberedEchoers } from './lib/echoers.mjs';
import { makeCert, sClient, sClientSession } from './lib/tls.mjs';
import {
    makeTempDir, signalPid, sleep, startFleet, stopFleet, waitFor,
} from './lib/fleet.mjs';
import { IO_TIMEOUT_MS, WebSocket, withTimeout } from './lib/worker.mjs';

// The fleet's TLS port, from its "listening on HOST:PORT (N sockets, TLS)" line.
function fleetTlsPort(fleet) {
    const m = fleet.stderr.match(/listening on 127\.0\.0\.1:(\d+) \((\d+) sockets, TLS\)$/m);
    assert.ok(m, fleet.stderr);
    return Number(m[1]);
}

// `n` wss clients on port, each sending a numbered message every `everyMs` and checking every
// reply. stop() resolves with { sent, answered, wrong, closes, errors } once the replies in flight
// are in; the clients are tracked by `owner` for its teardown.
async function wssEchoers(owner, port, n, everyMs = 50) {
    const clients = await Promise.all(Array.from({ length: n }, () => {
        const ws = owner.track(new WebSocket(`wss://127.0.0.1:${port}/echo`, {
            handshakeTimeout: IO_TIMEOUT_MS, rejectUnauthorized: false,
        }));
        return withTimeout(new Promise((resolve, reject) => {
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
        }), IO_TIMEOUT_MS * 3, 'wss open');
    }));
    return numberedEchoers(clients, everyMs, (ws) => ws.close(1000));
}

// One openssl s_client handshake with TLS 1.3; saves the session (with its ticket) to sessOut
// when given and resumes sessIn when given. Resolves with "New" or "Reused".
async function handshake(port, { sessIn, sessOut } = {}) {
    const args = ['-tls1_3'];
    if (sessIn) {
        args.push('-sess_in', sessIn);
    }
    const { out } = sessOut ? await sClientSession(port, args, sessOut) : await sClient(port, args);
    const m = out.match(/^(New|Reused), TLSv1\.3/m);
    assert.ok(m, out);
    return m[1];
}

describe('TLS listeners across wsctl upgrade and adoption', () => {
    let dir;
    let certs;
    let runDir;
    const fleets = [];
    const tls = () => ({ tls: { listen: '127.0.0.1:0', cert: certs.cert, key: certs.key } });

    before(async () => {
        dir = makeTempDir();
        certs = makeCert(dir);
        runDir = path.join(dir, 'run');
        fleets.push(await startFleet({ runDir, workers: { count: 2 }, sections: tls() }));
    });

    after(async () => {
        const problems = [];
        for (const fleet of fleets.reverse()) {
            if (fleet.running) {
                const problem = await stopFleet(fleet);
                if (problem) {
                    problems.push(problem);
                }
            } else {
                // SIGKILLed: once its adopted workers are gone, their stderr pipe ends.
                if (!fleet.child.stderr.readableEnded) {
                    await withTimeout(once(fleet.child.stderr, 'end'), 15000,
                        'the end of the adopted workers\' stderr').catch((err) => {
                        problems.push(err.message);
                    });
                }
                problems.push(...fleet.sanitizerReports());
                await fleet.stop();
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(problems, []);
    });

    test('wsctl upgrade: wss clients are not closed and every echo is answered', async () => {
        const fleet = fleets[0];
        const port = fleetTlsPort(fleet);
        const sess = path.join(dir, 'upgrade.sess');
        assert.equal(await handshake(port, { sessOut: sess }), 'New');
        const pids = (await fleet.workers()).map((w) => w.pid);
        const echo = await wssEchoers(fleet, port, 20);
        await sleep(300);
        const r = await fleet.ctl(['upgrade'], 20000);
        assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${fleet.tail()}`);
        await waitFor(() => fleet.lines(/upgrade: every worker runs the current/).length >= 1,
            15000, 'the upgraded image\'s verdict on the workers', () => fleet.tail());
        await sleep(500);
        const st = await echo.stop();
        assert.deepEqual(st.closes, [], fleet.tail());
        assert.deepEqual(st.errors, []);
        assert.equal(st.wrong, 0);
        assert.ok(st.sent > 100, `only ${st.sent} echoes were sent`);
        assert.equal(st.answered, st.sent);
        assert.deepEqual((await fleet.workers()).map((w) => w.pid), pids);
        // The TLS port is still served, and the session from before resumes.
        assert.equal(await handshake(port, { sessIn: sess }), 'Reused');
    });

    test('a supervisor restarted after SIGKILL adopts the TLS listener; wss clients stay',
        async () => {
            const first = fleets[0];
            const port = fleetTlsPort(first);
            const sess = path.join(dir, 'adopt.sess');
            assert.equal(await handshake(port, { sessOut: sess }), 'New');
            const pids = (await first.workers()).map((w) => w.pid).sort();
            const echo = await wssEchoers(first, port, 20);
            await sleep(300);
            signalPid(first.pid, 'SIGKILL');
            await first.exited;
            await sleep(300); // the orphans serve on alone

            const second = await startFleet({ runDir, workers: { count: 2 }, sections: tls() });
            fleets.push(second);
            assert.equal(second.lines(/adopting worker pid/).length, 2, second.tail());
            assert.deepEqual((await second.workers()).map((w) => w.pid).sort(), pids);
            await sleep(500);
            const st = await echo.stop();
            assert.deepEqual(st.closes, [], second.tail());
            assert.deepEqual(st.errors, []);
            assert.equal(st.wrong, 0);
            assert.ok(st.sent > 100, `only ${st.sent} echoes were sent`);
            assert.equal(st.answered, st.sent);
            // New wss clients on the same port are served by the adopted workers.
            const fresh = await wssEchoers(second, port, 8);
            await sleep(300);
            const fst = await fresh.stop();
            assert.deepEqual(fst.closes, []);
            assert.ok(fst.answered > 0 && fst.answered === fst.sent, JSON.stringify(fst));
            assert.equal(await handshake(port, { sessIn: sess }), 'Reused');
        });
});
