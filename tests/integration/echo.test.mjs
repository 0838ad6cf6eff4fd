// The /echo route driven by a real third-party client (ws) and by hand-built frames.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
    IO_TIMEOUT_MS, OP, WebSocket, echo, openWs, rawWebSocket, startWorker, stopWorker, withTimeout,
} from './lib/worker.mjs';

const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024 - 1];

// A text payload of exactly `n` bytes that is valid UTF-8 and not all ASCII.
function textOfBytes(n) {
    const unit = 'ab€ü'; // 1+1+3+2 = 7 bytes
    let s = unit.repeat(Math.floor(n / 7));
    s += 'x'.repeat(n - Buffer.byteLength(s));
    assert.equal(Buffer.byteLength(s), n);
    return s;
}

describe('echo', () => {
    let worker;

    before(async () => {
        // Off: the pipelining tests send far more than msg_rate's default 100/s.
        worker = await startWorker({ ipv6: true, flags: ['--msg-rate', '0'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('the worker reports both listeners', () => {
        assert.ok(worker.port > 0, worker.stderr);
        assert.ok(worker.port6 > 0, worker.stderr);
    });

    for (const size of SIZES) {
        test(`text message of ${size} bytes comes back as the same text`, async () => {
            const ws = await openWs(worker);
            const text = textOfBytes(size);
            const got = await echo(ws, text, { ms: IO_TIMEOUT_MS * 2 });
            assert.equal(got.isBinary, false);
            assert.equal(got.data.length, size);
            assert.ok(got.data.equals(Buffer.from(text)), 'payload differs');
            ws.close();
        });

        test(`binary message of ${size} bytes comes back as the same binary`, async () => {
            const ws = await openWs(worker);
            const data = randomBytes(size);
            const got = await echo(ws, data, { ms: IO_TIMEOUT_MS * 2 });
            assert.equal(got.isBinary, true);
            assert.equal(got.data.length, size);
            assert.ok(got.data.equals(data), 'payload differs');
            ws.close();
        });
    }

    test('binary payload that happens to be valid UTF-8 stays binary', async () => {
        const ws = await openWs(worker);
        const got = await echo(ws, Buffer.from('plain ascii'), { binary: true });
        assert.equal(got.isBinary, true);
        assert.equal(got.data.toString(), 'plain ascii');
        ws.close();
    });

    test('text and binary interleaved keep their types', async () => {
        const ws = await openWs(worker);
        const a = await echo(ws, 'one');
        const b = await echo(ws, Buffer.from([0, 1, 2, 255]));
        const c = await echo(ws, 'three');
        assert.deepEqual([a.isBinary, b.isBinary, c.isBinary], [false, true, false]);
        assert.equal(a.data.toString(), 'one');
        assert.deepEqual([...b.data], [0, 1, 2, 255]);
        assert.equal(c.data.toString(), 'three');
        ws.close();
    });

    test('IPv6 [::1] listener echoes', async () => {
        const ws = await openWs(worker, worker.url('/echo', true));
        assert.equal(ws._socket.remoteAddress, '::1');
        const got = await echo(ws, 'over v6');
        assert.equal(got.isBinary, false);
        assert.equal(got.data.toString(), 'over v6');
        ws.close();
    });

    test('1,000 pipelined messages arrive complete and in order', async () => {
        const ws = await openWs(worker);
        const count = 1000;
        const received = [];
        const done = new Promise((resolve, reject) => {
            ws.on('message', (data, isBinary) => {
                received.push({ text: data.toString(), isBinary });
                if (received.length === count) {
                    resolve();
                }
            });
            ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
        });
        for (let i = 0; i < count; i++) {
            ws.send(`message ${i} ${'.'.repeat(i % 50)}`);
        }
        await withTimeout(done, 20000, `${count} echoes (got ${received.length})`);
        assert.equal(received.length, count);
        for (let i = 0; i < count; i++) {
            assert.equal(received[i].isBinary, false);
            assert.equal(received[i].text, `message ${i} ${'.'.repeat(i % 50)}`, `message ${i}`);
        }
        ws.close();
    });

    test('200 concurrent connections each echo their own message', async () => {
        const count = 200;
        const clients = await Promise.all(Array.from({ length: count }, () => openWs(worker)));
        assert.equal(clients.length, count);
        const replies = await Promise.all(clients.map((ws, i) => echo(ws, `client ${i}`, { ms: 15000 })));
        replies.forEach((got, i) => {
            assert.equal(got.isBinary, false);
            assert.equal(got.data.toString(), `client ${i}`);
        });
        for (const ws of clients) {
            ws.close();
        }
    });

    test('fragmented text with an interleaved ping is echoed whole after the pong', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.TEXT, fin: false, payload: 'Hel' });
        await raw.send({ opcode: OP.PING, payload: 'mid' });
        await raw.send({ opcode: OP.CONT, fin: false, payload: 'lo, ' });
        await raw.send({ opcode: OP.CONT, fin: true, payload: 'world' });
        const pong = await raw.nextFrame();
        assert.ok(pong, 'connection closed instead of pong');
        assert.equal(pong.opcode, OP.PONG);
        assert.equal(pong.payload.toString(), 'mid');
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection closed instead of echo');
        assert.equal(frame.opcode, OP.TEXT);
        assert.equal(frame.fin, true, 'echo must be one frame');
        assert.equal(frame.masked, false, 'server frames are unmasked');
        assert.equal(frame.rsv, 0);
        assert.equal(frame.payload.toString(), 'Hello, world');
        raw.destroy();
    });

    test('fragmented binary message of many frames is echoed as one binary frame', async () => {
        const raw = await rawWebSocket(worker);
        const parts = Array.from({ length: 20 }, (_, i) => randomBytes(100 + i * 37));
        for (let i = 0; i < parts.length; i++) {
            await raw.send({
                opcode: i === 0 ? OP.BINARY : OP.CONT,
                fin: i === parts.length - 1,
                payload: parts[i],
            });
        }
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection closed instead of echo');
        assert.equal(frame.opcode, OP.BINARY);
        assert.equal(frame.fin, true);
        assert.ok(frame.payload.equals(Buffer.concat(parts)));
        raw.destroy();
    });

    test('a UTF-8 character split across fragments is accepted', async () => {
        const raw = await rawWebSocket(worker);
        const euro = Buffer.from('€'); // e2 82 ac
        await raw.send({ opcode: OP.TEXT, fin: false, payload: Buffer.concat([Buffer.from('x'), euro.subarray(0, 2)]) });
        await raw.send({ opcode: OP.CONT, fin: false, payload: euro.subarray(2) });
        await raw.send({ opcode: OP.CONT, fin: true, payload: Buffer.alloc(0) });
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection closed instead of echo');
        assert.equal(frame.opcode, OP.TEXT, `got opcode ${frame.opcode} code ${frame.code}`);
        assert.equal(frame.payload.toString(), 'x€');
        raw.destroy();
    });

    test('unsolicited pong is ignored', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.PONG, payload: 'unasked' });
        await raw.send({ opcode: OP.TEXT, payload: 'after pong' });
        const frame = await raw.nextFrame();
        assert.ok(frame);
        assert.equal(frame.opcode, OP.TEXT);
        assert.equal(frame.payload.toString(), 'after pong');
        raw.destroy();
    });

    test('ws ping gets a pong with the same payload', async () => {
        const ws = await openWs(worker);
        const payload = randomBytes(125);
        const pong = new Promise((resolve) => ws.once('pong', resolve));
        ws.ping(payload);
        const got = await withTimeout(pong, IO_TIMEOUT_MS, 'pong');
        assert.ok(got.equals(payload));
        const empty = new Promise((resolve) => ws.once('pong', resolve));
        ws.ping();
        assert.equal((await withTimeout(empty, IO_TIMEOUT_MS, 'empty pong')).length, 0);
        ws.close();
    });

    test('a query string on /echo is accepted', async () => {
        const ws = await openWs(worker, worker.url('/echo?room=7&x=%20y'));
        const got = await echo(ws, 'with query');
        assert.equal(got.data.toString(), 'with query');
        ws.close();
    });

    for (const path of ['/', '/nope', '/echo/extra', '/echoes']) {
        test(`path ${path} is answered 404`, async () => {
            const ws = new WebSocket(worker.url(path), { handshakeTimeout: IO_TIMEOUT_MS });
            const outcome = new Promise((resolve) => {
                ws.once('unexpected-response', (req, res) => {
                    resolve(res.statusCode);
                    req.destroy();
                });
                ws.once('open', () => resolve('opened'));
                ws.once('error', (err) => resolve(`error: ${err.message}`));
            });
            assert.equal(await withTimeout(outcome, IO_TIMEOUT_MS, `response to ${path}`), 404);
            ws.terminate();
        });
    }
});

// Where libevent's own descriptor cannot join the connections' epoll set (here: libevent told to
// use poll), libevent runs the loop and watches the set as one descriptor; echoes, pipelining
// and the shutdown work the same.
describe('echo with libevent running the loop', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--msg-rate', '0'], env: { EVENT_NOEPOLL: '1' } });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('the worker says libevent runs the loop', () => {
        assert.equal(worker.lines(/libevent \(poll\) runs the loop/).length, 1, worker.stderrText);
    });

    test('20 connections each get 200 pipelined echoes in order', async () => {
        const clients = await Promise.all(Array.from({ length: 20 }, () => openWs(worker)));
        await Promise.all(clients.map(async (ws, c) => {
            const received = [];
            const done = new Promise((resolve, reject) => {
                ws.on('message', (data) => {
                    received.push(data.toString());
                    if (received.length === 200) {
                        resolve();
                    }
                });
                ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
            });
            for (let i = 0; i < 200; i++) {
                ws.send(`client ${c} message ${i}`);
            }
            await withTimeout(done, 20000, `echoes of client ${c} (got ${received.length})`);
            received.forEach((text, i) => assert.equal(text, `client ${c} message ${i}`));
        }));
        for (const ws of clients) {
            ws.close();
        }
    });
});
