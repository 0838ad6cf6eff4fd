// permessage-deflate (RFC 7692) on /echo: Node ws with perMessageDeflate in each negotiation
// variant, against a worker keeping no context and one taking context over; the wire checked by
// hand (RSV1 on compressed replies only, deflate_min_size), a zip bomb, RSV1 where it is illegal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import {
    IO_TIMEOUT_MS, OP, WebSocket, echo, openWs, rawConnect, startWorker, stopWorker,
    upgradeRequest, withTimeout,
} from './lib/worker.mjs';

const MIN_SIZE = 100;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// Compressed payload of one message as a sender writes it (§7.2.1): the sync-flushed raw DEFLATE
// without its 0x00 0x00 0xff 0xff tail.
function deflateMessage(data) {
    const z = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.ok(z.subarray(z.length - 4).equals(TAIL));
    return z.subarray(0, z.length - 4);
}

function inflateMessage(payload) {
    return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
}

function jsonish(n, seed) {
    let s = '';
    for (let i = 0; s.length < n; i++) {
        s += `{"id":${seed + i},"channel":"news","data":"é ${(seed * 31 + i) % 97}"}\n`;
    }
    return s.slice(0, n).replace(/[\udc00-\udfff]$/, 'x');
}

// The Sec-WebSocket-Extensions response as a set of its parameters.
function params(extensions) {
    const parts = extensions.split(';').map((p) => p.trim());
    assert.equal(parts[0], 'permessage-deflate', `negotiated: ${extensions}`);
    return new Set(parts.slice(1));
}

// Opens a raw client that offers `offer`; returns it with the response's headers.
async function rawDeflate(worker, offer = 'permessage-deflate') {
    const client = await rawConnect(worker.port, { worker });
    const req = upgradeRequest({ extra: [`Sec-WebSocket-Extensions: ${offer}`] });
    await client.write(req.text);
    const res = await client.readHttpHead();
    assert.ok(res && res.status === 101, res ? res.head : 'no response');
    return { client, res };
}

// Opens a ws client with perMessageDeflate `options`; resolves with it and the worker's
// Sec-WebSocket-Extensions answer (ws itself only tells the extension's name).
async function openDeflate(worker, options) {
    const ws = worker.track(new WebSocket(worker.url(), {
        handshakeTimeout: IO_TIMEOUT_MS, perMessageDeflate: options,
    }));
    let answer;
    ws.once('upgrade', (res) => {
        answer = res.headers['sec-websocket-extensions'];
    });
    await withTimeout(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), IO_TIMEOUT_MS * 2, 'ws open with perMessageDeflate');
    return { ws, answer };
}

async function expectClose(raw, code) {
    for (;;) {
        const frame = await raw.nextDataFrame(IO_TIMEOUT_MS * 2);
        assert.ok(frame, `worker closed TCP without a close frame (expected ${code})`);
        if (frame.opcode === OP.PONG) {
            continue;
        }
        assert.equal(frame.opcode, OP.CLOSE, `expected a close frame, got opcode ${frame.opcode}`);
        assert.equal(frame.rsv, 0);
        assert.equal(frame.code, code, `close code ${frame.code}, reason ${frame.reason}`);
        return frame;
    }
}

// Echoes a mix of sizes (below and above both sides' thresholds), twice over so that context
// takeover is exercised, text and binary.
async function echoMix(ws) {
    for (let round = 0; round < 2; round++) {
        for (const size of [0, 1, 20, MIN_SIZE - 1, MIN_SIZE, 1000, 70000, 300000]) {
            const text = jsonish(size, size + round);
            const got = await echo(ws, text, { ms: IO_TIMEOUT_MS * 2 });
            assert.equal(got.isBinary, false);
            assert.equal(got.data.toString(), text, `text of ${size} bytes differs`);
            const bin = size > 1000 ? Buffer.from(text) : randomBytes(size);
            const gotBin = await echo(ws, bin, { ms: IO_TIMEOUT_MS * 2 });
            assert.equal(gotBin.isBinary, true);
            assert.ok(gotBin.data.equals(bin), `binary of ${size} bytes differs`);
        }
    }
}

// [client options, parameters the worker answers without context takeover, with it]
const VARIANTS = [
    ['defaults', {}, ['server_no_context_takeover', 'client_no_context_takeover'], []],
    ['serverNoContextTakeover', { serverNoContextTakeover: true },
        ['server_no_context_takeover', 'client_no_context_takeover'],
        ['server_no_context_takeover']],
    ['clientNoContextTakeover', { clientNoContextTakeover: true },
        ['server_no_context_takeover', 'client_no_context_takeover'],
        ['client_no_context_takeover']],
    ['serverMaxWindowBits 10', { serverMaxWindowBits: 10 },
        ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits=10'],
        ['server_max_window_bits=10']],
    ['clientMaxWindowBits 9', { clientMaxWindowBits: 9 },
        ['server_no_context_takeover', 'client_no_context_takeover'], []],
    ['threshold 0 (every message compressed)', { threshold: 0 },
        ['server_no_context_takeover', 'client_no_context_takeover'], []],
];

for (const takeover of [false, true]) {
    describe(`deflate on, context takeover ${takeover ? 'on' : 'off'}`, () => {
        let worker;

        before(async () => {
            worker = await startWorker({
                flags: ['--deflate', 'on', '--deflate-context-takeover', takeover ? 'on' : 'off',
                    '--deflate-min-size', String(MIN_SIZE)],
            });
        });

        after(async () => {
            const problem = await stopWorker(worker);
            assert.equal(problem, null, problem ?? '');
        });

        for (const [name, options, noTakeover, withTakeover] of VARIANTS) {
            test(`ws perMessageDeflate ${name}`, async () => {
                const { ws, answer } = await openDeflate(worker, { threshold: 64, ...options });
                assert.equal(ws.extensions, 'permessage-deflate');
                assert.deepEqual(params(answer), new Set(takeover ? withTakeover : noTakeover));
                await echoMix(ws);
                ws.close();
            });
        }

        test('replies of deflate_min_size bytes and more are compressed, smaller ones not', async () => {
            const { client, res } = await rawDeflate(worker);
            assert.equal(res.headers['sec-websocket-extensions'].length, 1);
            const big = 'x'.repeat(5000);
            client.send({ opcode: OP.TEXT, payload: big });
            let frame = await client.nextDataFrame();
            assert.equal(frame.opcode, OP.TEXT);
            assert.equal(frame.rsv, 4, 'RSV1 set');
            assert.ok(frame.payload.length < 200, `compressed to ${frame.payload.length} bytes`);
            assert.ok(!frame.payload.subarray(-4).equals(TAIL), 'the tail is removed');
            assert.equal(inflateMessage(frame.payload).toString(), big);
            // The same message again: without context takeover the same bytes (compressed once
            // for both), with it far fewer, referring back into the first.
            const text = jsonish(3000, 1);
            client.send({ opcode: OP.TEXT, payload: text });
            const first = await client.nextDataFrame();
            client.send({ opcode: OP.TEXT, payload: text });
            const second = await client.nextDataFrame();
            assert.equal(first.rsv, 4);
            assert.equal(second.rsv, 4);
            if (takeover) {
                assert.ok(second.payload.length * 4 < first.payload.length,
                    `${second.payload.length} vs ${first.payload.length} bytes`);
            } else {
                assert.ok(second.payload.equals(first.payload));
                assert.equal(inflateMessage(second.payload).toString(), text);
            }
            const both = zlib.inflateRawSync(
                Buffer.concat([frame.payload, TAIL, first.payload, TAIL, second.payload, TAIL]),
                { finishFlush: zlib.constants.Z_SYNC_FLUSH });
            assert.equal(both.toString(), big + text + text);
            const small = 'y'.repeat(MIN_SIZE - 1);
            client.send({ opcode: OP.TEXT, payload: small });
            frame = await client.nextDataFrame();
            assert.equal(frame.rsv, 0, 'a message under deflate_min_size is sent plain');
            assert.equal(frame.payload.toString(), small);
            client.destroy();
        });

        test('a compressed message in fragments: RSV1 on the first frame only', async () => {
            const { client } = await rawDeflate(worker);
            const text = jsonish(3000, 5);
            const z = deflateMessage(Buffer.from(text));
            const cut = Math.floor(z.length / 3);
            client.send({ opcode: OP.TEXT, fin: false, rsv: 4, payload: z.subarray(0, cut) });
            client.send({ opcode: OP.PING, payload: 'p' });
            client.send({ opcode: OP.CONT, fin: false, payload: z.subarray(cut, 2 * cut) });
            client.send({ opcode: OP.CONT, payload: z.subarray(2 * cut) });
            let frame = await client.nextFrame();
            assert.equal(frame.opcode, OP.PONG);
            assert.equal(frame.rsv, 0);
            frame = await client.nextDataFrame();
            assert.equal(frame.opcode, OP.TEXT);
            assert.equal(frame.rsv, 4);
            assert.equal(inflateMessage(frame.payload).toString(), text);
            client.destroy();
        });

        test('a zip bomb (a small frame inflating past max_message) closes 1009', async () => {
            const bomb = deflateMessage(Buffer.alloc(64 * 1024 * 1024)); // default max 1 MiB
            assert.ok(bomb.length < 128 * 1024);
            const { client } = await rawDeflate(worker);
            client.send({ opcode: OP.BINARY, rsv: 4, payload: bomb });
            await expectClose(client, 1009);
            client.destroy();
        });

        test('RSV1 on a control frame closes 1002', async () => {
            const { client } = await rawDeflate(worker);
            client.send({ opcode: OP.PING, rsv: 4, payload: 'x' });
            await expectClose(client, 1002);
            client.destroy();
        });

        test('RSV1 on a continuation frame closes 1002', async () => {
            const { client } = await rawDeflate(worker);
            const z = deflateMessage(Buffer.from('hello hello hello'));
            client.send({ opcode: OP.TEXT, fin: false, rsv: 4, payload: z.subarray(0, 3) });
            client.send({ opcode: OP.CONT, rsv: 4, payload: z.subarray(3) });
            await expectClose(client, 1002);
            client.destroy();
        });

        test('data that is not DEFLATE closes 1007, and so does bad UTF-8 inside', async () => {
            let { client } = await rawDeflate(worker);
            client.send({ opcode: OP.TEXT, rsv: 4, payload: Buffer.from([0xff, 0xff, 0xff, 0xff]) });
            await expectClose(client, 1007);
            client.destroy();
            ({ client } = await rawDeflate(worker));
            client.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage(Buffer.from([0xc3, 0x28])) });
            await expectClose(client, 1007);
            client.destroy();
        });

        test('an offer the worker must decline leaves the connection uncompressed', async () => {
            const { client, res } = await rawDeflate(worker, 'permessage-deflate; server_max_window_bits=8');
            assert.equal(res.headers['sec-websocket-extensions'], undefined);
            client.send({ opcode: OP.TEXT, payload: 'z'.repeat(1000) });
            const frame = await client.nextDataFrame();
            assert.equal(frame.rsv, 0);
            client.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage(Buffer.from('hi')) });
            await expectClose(client, 1002);
            client.destroy();
        });
    });
}

describe('deflate off (the default)', () => {
    let worker;

    before(async () => {
        worker = await startWorker();
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('the extension is not negotiated and RSV1 is a protocol error', async () => {
        const ws = await openWs(worker, worker.url(), { perMessageDeflate: { threshold: 0 } });
        assert.equal(ws.extensions, '');
        const got = await echo(ws, 'a'.repeat(2000));
        assert.equal(got.data.toString(), 'a'.repeat(2000));
        ws.close();
        const { client, res } = await rawDeflate(worker);
        assert.equal(res.headers['sec-websocket-extensions'], undefined);
        client.send({ opcode: OP.TEXT, rsv: 4, payload: deflateMessage(Buffer.from('hi')) });
        await expectClose(client, 1002);
        client.destroy();
    });
});
