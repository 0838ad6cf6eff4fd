// Heartbeat, idle timeout, graceful shutdown, flag errors and hostile clients.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
    IO_TIMEOUT_MS, OP, WebSocket, canEcho, echo, openWs, rawConnect, rawWebSocket, runWorker, sleep,
    slow, startWorker, stopWorker, upgradeRequest, withTimeout, wsClosed,
} from './lib/worker.mjs';

// True when a TCP connect to 127.0.0.1:port is refused within `ms`.
function connectRefused(port, ms = IO_TIMEOUT_MS) {
    const attempt = new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
            socket.destroy();
            resolve(false);
        });
        socket.once('error', (err) => resolve(err.code === 'ECONNREFUSED'));
    });
    return withTimeout(attempt, ms, `connect to ${port}`);
}

describe('heartbeat', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--ping-interval', '0.5', '--idle-timeout', '1.5'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a quiet ws client is pinged after --ping-interval', async () => {
        // The clock starts before the upgrade, as the worker's timer does not start until then.
        const started = Date.now();
        const ws = await openWs(worker);
        const ping = new Promise((resolve) => ws.once('ping', resolve));
        await withTimeout(ping, slow(4000), 'server ping');
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 490, `pinged after only ${elapsed} ms`);
        ws.close();
    });

    test('a client that never answers is closed with 1001 after --idle-timeout; a ws client stays', async () => {
        const ws = await openWs(worker);
        const started = Date.now();
        const raw = await rawWebSocket(worker);
        let pings = 0;
        let close = null;
        for (let i = 0; i < 100 && !close; i++) {
            const frame = await raw.nextFrame(slow(6000));
            assert.ok(frame, `TCP closed without a close frame after ${Date.now() - started} ms`);
            if (frame.opcode === OP.PING) {
                pings++;
            } else {
                assert.equal(frame.opcode, OP.CLOSE, `unexpected opcode ${frame.opcode}`);
                close = frame;
            }
        }
        const elapsed = Date.now() - started;
        assert.ok(close, 'no close frame');
        assert.equal(close.code, 1001);
        assert.ok(pings >= 1, 'closed without pinging first');
        assert.ok(elapsed >= 1490, `closed after only ${elapsed} ms`);
        assert.ok(await raw.waitEnd(), 'worker did not close TCP');
        raw.destroy();

        // The ws client answers pings by itself, so it is still open well past the idle timeout.
        await sleep(Math.max(0, 2500 - (Date.now() - started)));
        assert.equal(ws.readyState, WebSocket.OPEN);
        assert.equal((await echo(ws, 'still here')).data.toString(), 'still here');
        ws.close();
    });

    test('a client that keeps sending data is not idle even if it ignores pings', async () => {
        const raw = await rawWebSocket(worker);
        const started = Date.now();
        for (let i = 0; Date.now() - started < 2500 && i < 100; i++) {
            await raw.send({ opcode: OP.TEXT, payload: `tick ${i}` });
            const frame = await raw.nextDataFrame();
            assert.ok(frame, `closed after ${Date.now() - started} ms`);
            assert.equal(frame.opcode, OP.TEXT, `opcode ${frame.opcode} code ${frame.code}`);
            assert.equal(frame.payload.toString(), `tick ${i}`);
            await sleep(300);
        }
        raw.destroy();
    });
});

describe('shutdown', () => {
    test('SIGTERM closes every connection with 1001 and exits 0', async () => {
        const worker = await startWorker();
        try {
            const clients = await Promise.all([1, 2, 3].map(() => openWs(worker)));
            const closes = clients.map((ws) => wsClosed(ws, slow(8000)));
            const before = worker.stderr.length;
            const started = Date.now();
            const exit = await worker.signalAndWait('SIGTERM', slow(8000));
            assert.ok(exit, `worker still running ${Date.now() - started} ms after SIGTERM`);
            assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${worker.stderr}`);
            for (const closed of closes) {
                assert.equal((await closed).code, 1001);
            }
            const tail = worker.stderr.slice(before);
            assert.match(tail, /shut(ting)? ?down|stopp|terminat|drain|exit/i,
                `no shutdown line after SIGTERM:\n${tail}`);
        } finally {
            const problem = await stopWorker(worker);
            assert.equal(problem, null, problem ?? '');
        }
    });

    test('a handshake in progress at SIGTERM is let finish, then closed with 1001', async () => {
        const worker = await startWorker();
        try {
            const raw = await rawConnect(worker.port, { worker });
            const { text } = upgradeRequest();
            raw.write(Buffer.from(text.slice(0, 24), 'latin1'));
            // The accept queue is first in, first out: once a later client is upgraded, the
            // worker has accepted the raw one too.
            const later = await openWs(worker);
            const closed = wsClosed(later, slow(8000));
            const before = worker.stderr.length;
            const exit = worker.signalAndWait('SIGTERM', slow(8000));
            const deadline = Date.now() + slow(5000);
            while (!/shutting down/.test(worker.stderr.slice(before)) && Date.now() < deadline) {
                await sleep(20);
            }
            assert.match(worker.stderr.slice(before), /shutting down/, worker.stderr);
            raw.write(Buffer.from(text.slice(24), 'latin1'));
            const head = await raw.readHttpHead(slow(5000));
            assert.equal(head?.status, 101, `no 101 after the shutdown began:\n${worker.stderr}`);
            const frame = await raw.nextFrame(slow(5000));
            assert.equal(frame?.opcode, OP.CLOSE);
            assert.equal(frame.payload.readUInt16BE(0), 1001);
            assert.equal((await closed).code, 1001);
            raw.send({ opcode: OP.CLOSE, payload: frame.payload });
            raw.destroy(); // our end of TCP: the worker need not linger for it
            const done = await exit;
            assert.equal(done?.code, 0, `exit ${JSON.stringify(done)}\n${worker.stderr}`);
        } finally {
            const problem = await stopWorker(worker);
            assert.equal(problem, null, problem ?? '');
        }
    });

    test('SIGINT shuts down the same way', async () => {
        const worker = await startWorker();
        try {
            const ws = await openWs(worker);
            const closed = wsClosed(ws, slow(8000));
            const exit = await worker.signalAndWait('SIGINT', slow(8000));
            assert.ok(exit, 'worker still running after SIGINT');
            assert.equal(exit.code, 0, JSON.stringify(exit));
            assert.equal((await closed).code, 1001);
        } finally {
            await stopWorker(worker);
        }
    });

    test('with --grace 1 a client that never answers the close does not hold the exit', async () => {
        // The close timeout is far longer than any wait below: an exit held by the client could
        // not come in time.
        const grace = 1;
        const worker = await startWorker({ flags: ['--grace', String(grace), '--close-timeout', '120'] });
        try {
            const raw = await rawWebSocket(worker);
            const port = worker.port;
            const started = Date.now();
            worker.kill('SIGTERM');
            const frame = await raw.nextDataFrame(slow(4000));
            assert.ok(frame, 'TCP closed without a close frame');
            assert.equal(frame.opcode, OP.CLOSE);
            assert.equal(frame.code, 1001);
            // Listening sockets are closed while the drain is still going on.
            if (worker.running) {
                assert.equal(await connectRefused(port), true, 'still accepting after SIGTERM');
            }
            const exit = await withTimeout(worker.exited, grace * 1000 + slow(10000), 'exit after grace');
            const elapsed = Date.now() - started;
            assert.equal(exit.code, 0, JSON.stringify(exit));
            assert.ok(elapsed >= grace * 1000 - 200, `exited after ${elapsed} ms, before the grace`);
            raw.destroy();
        } finally {
            await stopWorker(worker);
        }
    });
});

describe('flags', () => {
    const listen = ['--listen', '127.0.0.1:0'];
    const BAD = [
        ['an unknown flag', [...listen, '--bogus']],
        ['a flag without its value', [...listen, '--max-connections']],
        ['a non-numeric size', [...listen, '--max-message', 'lots']],
        ['a negative size', [...listen, '--max-backlog', '-5']],
        ['a non-numeric duration', [...listen, '--ping-interval', 'soon']],
        ['a duration with junk after it', [...listen, '--handshake-timeout', '1x']],
        ['an unknown log level', [...listen, '--log-level', 'loud']],
        ['a listen address without a port', ['--listen', '127.0.0.1']],
        ['a listen port out of range', ['--listen', '127.0.0.1:65536']],
        ['an unclosed IPv6 bracket', ['--listen', '[::1:0']],
        ['a listen host that is not an address', ['--listen', '127.0.0.256:0']],
    ];

    for (const [name, args] of BAD) {
        test(`${name} exits 100`, async () => {
            const result = await runWorker(args, slow(5000));
            assert.equal(result.code, 100, `${args.join(' ')} → ${JSON.stringify(result)}`);
            assert.ok(result.stderr.length > 0, 'no error message on stderr');
        });
    }

    test('a port already in use exits 100', async () => {
        const blocker = net.createServer();
        await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        try {
            const port = blocker.address().port;
            const result = await runWorker(['--listen', `127.0.0.1:${port}`], slow(5000));
            assert.equal(result.code, 100, JSON.stringify(result));
        } finally {
            blocker.close();
        }
    });

    test('--help and --version exit 0 with output', async () => {
        const help = await runWorker(['--help'], slow(5000));
        assert.equal(help.code, 0, JSON.stringify(help));
        assert.match(help.stdout + help.stderr, /--max-message/);
        const version = await runWorker(['--version'], slow(5000));
        assert.equal(version.code, 0, JSON.stringify(version));
        assert.match(version.stdout + version.stderr, /\d+\.\d+/);
    });
});

describe('hostile clients', () => {
    let worker;
    let bystander;

    before(async () => {
        worker = await startWorker({ flags: ['--handshake-timeout', '2'] });
        bystander = await openWs(worker);
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    async function assertServing(label) {
        assert.equal(worker.running, true, `worker died after ${label}:\n${worker.stderr}`);
        assert.equal((await echo(bystander, label)).data.toString(), label);
        assert.equal(await canEcho(worker), true);
    }

    test('garbage bytes right after connect get 400 or a close, never a crash', async () => {
        const attempts = Array.from({ length: 20 }, async (_, i) => {
            const raw = await rawConnect(worker.port, { worker });
            await raw.write(randomBytes(1 + ((i * 997) % 9000))).catch(() => {});
            const ended = await raw.waitEnd(slow(6000)).catch(() => false);
            raw.destroy();
            return ended || raw.error !== null;
        });
        const results = await Promise.all(attempts);
        results.forEach((ok, i) => assert.ok(ok, `garbage connection ${i} was left open`));
        await assertServing('after garbage');
    });

    test('connections reset mid-request and mid-frame do not affect others', async () => {
        for (let i = 0; i < 20; i++) {
            const raw = await rawConnect(worker.port, { worker });
            await raw.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr');
            raw.socket.resetAndDestroy();
            const ws = await rawWebSocket(worker);
            // Half a frame header, then a reset.
            await ws.write(Buffer.from([0x81, 0xfe, 0x01]));
            ws.socket.resetAndDestroy();
        }
        const pending = [];
        for (let i = 0; i < 20; i++) {
            const ws = await rawWebSocket(worker);
            // A large message the worker is still reading when the reset comes.
            pending.push(ws.write(Buffer.concat([
                Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]),
                randomBytes(300000),
            ])).catch(() => {}));
            ws.socket.resetAndDestroy();
        }
        await Promise.all(pending);
        await sleep(200);
        await assertServing('after resets');
    });

    test('a client that vanishes while being sent a large echo does not affect others', async () => {
        for (let i = 0; i < 5; i++) {
            const ws = await openWs(worker);
            ws.send(randomBytes(1024 * 1024 - 1));
            await sleep(20);
            ws.terminate();
        }
        await sleep(200);
        await assertServing('after vanished readers');
    });
});
