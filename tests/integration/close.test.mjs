// Every way a connection closes: client-initiated closes, protocol errors (by hand-built frames),
// oversize messages and a client that stops reading.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    OP, WebSocket, buildFrame, closePayload, echo, httpExchange, openWs, rawWebSocket, sleep, slow,
    startWorker, stopWorker, upgradeRequest, wsClosed,
} from './lib/worker.mjs';
import { waitFor } from './lib/fleet.mjs';

const MAX_MESSAGE = 1000;

// Reads the worker's close frame (skipping pings), checks its code, then checks that the worker
// closes TCP. Returns the close frame.
async function expectCloseFrame(raw, code) {
    const frame = await raw.nextDataFrame();
    assert.ok(frame, `worker closed TCP without a close frame (expected ${code})`);
    assert.equal(frame.opcode, OP.CLOSE, `expected a close frame, got opcode ${frame.opcode}`);
    assert.equal(frame.masked, false);
    assert.equal(frame.code, code, `close code ${frame.code}, reason ${frame.reason}`);
    assert.ok(frame.payload.length <= 125);
    assert.ok(await raw.waitEnd(), 'worker did not close TCP');
    return frame;
}

describe('client-initiated close', () => {
    let worker;

    before(async () => {
        worker = await startWorker();
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('close 1000 with a reason is echoed and then TCP closes', async () => {
        const ws = await openWs(worker);
        const closed = wsClosed(ws);
        ws.close(1000, 'bye now');
        const { code, reason } = await closed;
        assert.equal(code, 1000);
        assert.equal(reason, 'bye now');
        assert.ok(ws._socket === null || ws._socket.destroyed, 'TCP still open');
    });

    for (const sent of [1001, 1003, 3000, 4000, 4999]) {
        test(`close ${sent} is echoed with the same code`, async () => {
            const ws = await openWs(worker);
            const closed = wsClosed(ws);
            ws.close(sent, `code ${sent}`);
            const { code, reason } = await closed;
            assert.equal(code, sent);
            assert.equal(reason, `code ${sent}`);
        });
    }

    test('empty close is answered with an empty close (ws reports 1005)', async () => {
        const ws = await openWs(worker);
        const closed = wsClosed(ws);
        ws.close();
        const { code, reason } = await closed;
        assert.equal(code, 1005);
        assert.equal(reason, '');
    });

    test('raw close 1000 is echoed byte for byte and TCP closes', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.CLOSE, payload: closePayload(1000, 'done') });
        const frame = await expectCloseFrame(raw, 1000);
        assert.equal(frame.reason.toString(), 'done');
        raw.destroy();
    });

    test('raw empty close gets an empty close payload', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.CLOSE });
        const frame = await raw.nextDataFrame();
        assert.ok(frame);
        assert.equal(frame.opcode, OP.CLOSE);
        assert.equal(frame.payload.length, 0);
        assert.ok(await raw.waitEnd());
        raw.destroy();
    });

    test('data after the client close is not echoed', async () => {
        const raw = await rawWebSocket(worker);
        await raw.write(Buffer.concat([
            buildFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }),
            buildFrame({ opcode: OP.TEXT, payload: 'too late' }),
        ]));
        const frame = await raw.nextDataFrame();
        assert.ok(frame);
        assert.equal(frame.opcode, OP.CLOSE);
        assert.equal(frame.code, 1000);
        const next = await raw.nextFrame();
        assert.equal(next, null, 'a frame followed the close');
        raw.destroy();
    });
});

// Each case: a name, the bytes to send after a valid handshake, the expected close code.
const long = (n) => Buffer.alloc(n, 0x61);
const PROTOCOL_ERRORS = [
    ['unmasked frame', () => [buildFrame({ opcode: OP.TEXT, payload: 'hi', masked: false })], 1002],
    ['RSV1 set', () => [buildFrame({ opcode: OP.TEXT, payload: 'hi', rsv: 4 })], 1002],
    ['RSV2 set', () => [buildFrame({ opcode: OP.BINARY, payload: 'hi', rsv: 2 })], 1002],
    ['RSV3 set on a ping', () => [buildFrame({ opcode: OP.PING, payload: 'hi', rsv: 1 })], 1002],
    ['reserved opcode 3', () => [buildFrame({ opcode: 3, payload: 'x' })], 1002],
    ['reserved opcode 7', () => [buildFrame({ opcode: 7 })], 1002],
    ['reserved opcode 0xB', () => [buildFrame({ opcode: 0xb, payload: 'x' })], 1002],
    ['reserved opcode 0xF', () => [buildFrame({ opcode: 0xf })], 1002],
    ['ping with a 126-byte payload', () => [buildFrame({ opcode: OP.PING, payload: long(126) })], 1002],
    ['close with a 126-byte payload', () => [buildFrame({ opcode: OP.CLOSE, payload: closePayload(1000, long(124)) })], 1002],
    ['fragmented ping', () => [buildFrame({ opcode: OP.PING, fin: false, payload: 'p' })], 1002],
    ['continuation without a started message', () => [buildFrame({ opcode: OP.CONT, payload: 'c' })], 1002],
    ['new text frame inside a fragmented message', () => [
        buildFrame({ opcode: OP.TEXT, fin: false, payload: 'a' }),
        buildFrame({ opcode: OP.TEXT, payload: 'b' }),
    ], 1002],
    ['new binary frame inside a fragmented text message', () => [
        buildFrame({ opcode: OP.TEXT, fin: false, payload: 'a' }),
        buildFrame({ opcode: OP.BINARY, fin: false, payload: 'b' }),
    ], 1002],
    ['64-bit length with the top bit set', () => [
        buildFrame({ opcode: OP.BINARY, len64: 0x8000000000000001n, payload: Buffer.alloc(0) }),
    ], 1002],
    ['close with a 1-byte payload', () => [buildFrame({ opcode: OP.CLOSE, payload: Buffer.from([3]) })], 1002],
    ...[999, 1004, 1005, 1006, 1012, 2999, 5000, 65535].map((code) => [
        `close code ${code}`,
        () => [buildFrame({ opcode: OP.CLOSE, payload: closePayload(code) })],
        1002,
    ]),
    ['close reason that is invalid UTF-8', () => [
        buildFrame({ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0x6f, 0x6b, 0xff])) }),
    ], 1007],
    ['text message that is invalid UTF-8', () => [buildFrame({ opcode: OP.TEXT, payload: Buffer.from([0x68, 0xc3, 0x28]) })], 1007],
    ['text message with a UTF-16 surrogate', () => [buildFrame({ opcode: OP.TEXT, payload: Buffer.from([0xed, 0xa0, 0x80]) })], 1007],
    ['text message with an overlong encoding', () => [buildFrame({ opcode: OP.TEXT, payload: Buffer.from([0xc0, 0xaf]) })], 1007],
    ['text message truncated mid-character', () => [buildFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, 0xe2, 0x82]) })], 1007],
];

describe('protocol errors', () => {
    let worker;
    let bystander;

    before(async () => {
        worker = await startWorker({ flags: ['--max-message', String(MAX_MESSAGE)] });
        bystander = await openWs(worker);
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    // The connection that was open all along and a brand-new one both still echo.
    async function assertOthersUnaffected(label) {
        assert.equal(worker.running, true, `worker died after ${label}:\n${worker.stderr}`);
        const got = await echo(bystander, `bystander after ${label}`);
        assert.equal(got.data.toString(), `bystander after ${label}`);
        const fresh = await openWs(worker);
        const again = await echo(fresh, Buffer.from(label), { binary: true });
        assert.ok(again.data.equals(Buffer.from(label)));
        fresh.close();
    }

    for (const [name, frames, code] of PROTOCOL_ERRORS) {
        test(`${name} → close ${code}`, async () => {
            const raw = await rawWebSocket(worker);
            for (const bytes of frames()) {
                await raw.write(bytes);
            }
            await expectCloseFrame(raw, code);
            raw.destroy();
            await assertOthersUnaffected(name);
        });
    }

    test('invalid UTF-8 is detected mid-message, before the final fragment', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x6f, 0x6b, 0xff, 0x21]) });
        // The final fragment is never sent: the close must come from the first one alone.
        await expectCloseFrame(raw, 1007);
        raw.destroy();
        await assertOthersUnaffected('mid-message UTF-8');
    });

    test('invalid UTF-8 in a continuation frame is detected before FIN', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.TEXT, fin: false, payload: 'fine so far ' });
        await raw.send({ opcode: OP.CONT, fin: false, payload: Buffer.from([0xf8, 0x88, 0x80]) });
        await expectCloseFrame(raw, 1007);
        raw.destroy();
        await assertOthersUnaffected('continuation UTF-8');
    });

    test(`a message of exactly --max-message (${MAX_MESSAGE}) bytes is echoed`, async () => {
        const ws = await openWs(worker);
        const got = await echo(ws, Buffer.alloc(MAX_MESSAGE, 7), { binary: true });
        assert.equal(got.data.length, MAX_MESSAGE);
        const fragmented = await rawWebSocket(worker);
        await fragmented.send({ opcode: OP.TEXT, fin: false, payload: long(MAX_MESSAGE / 2) });
        await fragmented.send({ opcode: OP.CONT, fin: true, payload: long(MAX_MESSAGE / 2) });
        const frame = await fragmented.nextDataFrame();
        assert.ok(frame);
        assert.equal(frame.opcode, OP.TEXT);
        assert.equal(frame.payload.length, MAX_MESSAGE);
        fragmented.destroy();
        ws.close();
    });

    test('a single frame over --max-message → close 1009', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.BINARY, payload: long(MAX_MESSAGE + 1) });
        await expectCloseFrame(raw, 1009);
        raw.destroy();
        await assertOthersUnaffected('oversize frame');
    });

    test('fragments adding up to more than --max-message → close 1009', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.TEXT, fin: false, payload: long(600) });
        await raw.send({ opcode: OP.CONT, fin: false, payload: long(401) });
        // No final fragment: the limit must trip while the message is still open.
        await expectCloseFrame(raw, 1009);
        raw.destroy();
        await assertOthersUnaffected('oversize fragments');
    });

    test('the ws client sees 1009 for an oversize message', async () => {
        const ws = await openWs(worker);
        const closed = wsClosed(ws);
        ws.send(long(MAX_MESSAGE * 3));
        assert.equal((await closed).code, 1009);
    });

    test('the worker never echoes the message that broke the protocol', async () => {
        const raw = await rawWebSocket(worker);
        await raw.send({ opcode: OP.TEXT, payload: 'good' });
        await raw.send({ opcode: OP.TEXT, payload: 'bad', rsv: 4 });
        const first = await raw.nextDataFrame();
        assert.ok(first);
        assert.equal(first.opcode, OP.TEXT);
        assert.equal(first.payload.toString(), 'good');
        const second = await raw.nextDataFrame();
        assert.ok(second);
        assert.equal(second.opcode, OP.CLOSE);
        assert.equal(second.code, 1002);
        raw.destroy();
    });
});

// Writes a harmless pong every 100 ms until the worker resets the connection (it has closed its
// socket); resolves with the ms since `started` that took, or null after `ms`.
async function msUntilReset(raw, ms, started = Date.now()) {
    while (Date.now() - started < ms) {
        if (raw.error || raw.closed) {
            return Date.now() - started;
        }
        await raw.send({ opcode: OP.PONG, payload: 'probe' }).catch(() => {});
        await sleep(100);
    }
    return null;
}

describe('close timeout', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--close-timeout', '1'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('after a protocol error the worker waits --close-timeout for the client, then closes', async () => {
        const raw = await rawWebSocket(worker);
        // The worker's close timer starts when it reads the bad frame: the clock starts before
        // the send, so a late look at the close frame cannot shorten what is measured.
        const started = Date.now();
        await raw.send({ opcode: OP.TEXT, payload: 'x', masked: false });
        await expectCloseFrame(raw, 1002);
        // The client neither answers the close nor closes its side.
        const elapsed = await msUntilReset(raw, 1000 + slow(4000), started);
        assert.ok(elapsed !== null, 'worker never closed the connection');
        assert.ok(elapsed >= 990, `closed after ${elapsed} ms, before --close-timeout 1`);
        raw.destroy();
    });

    test('after a protocol error the client closing its side frees the connection at once', async () => {
        // With room for one connection, the next handshake succeeds only once the failed one is
        // gone: that shows the worker closed it on the client's FIN, not at --close-timeout,
        // which is far longer than the (generous) wait below.
        const single = await startWorker({ flags: ['--close-timeout', '60', '--max-connections', '1'] });
        try {
            const raw = await rawWebSocket(single);
            await raw.send({ opcode: OP.TEXT, payload: 'x', masked: false });
            await expectCloseFrame(raw, 1002);
            await raw.send({ opcode: OP.CLOSE, payload: closePayload(1002) });
            raw.socket.end();
            const started = Date.now();
            let status = null;
            const bound = slow(10000);
            while (status !== 101 && Date.now() - started < bound) {
                status = (await httpExchange(single, upgradeRequest().text)).status;
                if (status !== 101) {
                    await sleep(20);
                }
            }
            const elapsed = Date.now() - started;
            assert.equal(status, 101, `still refused (${status}) ${elapsed} ms after the client closed`);
            raw.destroy();
        } finally {
            const problem = await stopWorker(single);
            assert.equal(problem, null, problem ?? '');
        }
    });
});

describe('backlog cap', () => {
    const BACKLOG = 65536;
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--max-backlog', String(BACKLOG), '--close-timeout', '2'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a client that stops reading is closed with 1008', async (t) => {
        const bystander = await openWs(worker);
        const ws = await openWs(worker);
        ws._socket.pause();
        const chunk = Buffer.alloc(64 * 1024, 0x5a);
        const limit = 64 * 1024 * 1024;
        let sent = 0;
        let stalledSince = null;
        const started = Date.now();
        // Send while the worker keeps reading; stop once it stops (it has given up on us) or at
        // the byte and time bounds.
        while (sent < limit && Date.now() - started < 30000 && ws.readyState === WebSocket.OPEN) {
            if (ws.bufferedAmount < 1024 * 1024) {
                ws.send(chunk);
                sent += chunk.length;
                stalledSince = null;
                continue;
            }
            stalledSince ??= Date.now();
            if (Date.now() - stalledSince > 1000) {
                break;
            }
            await sleep(10);
        }
        assert.ok(sent > BACKLOG, `only ${sent} bytes sent`);
        // The bystander is unaffected while the slow client is pending.
        const got = await echo(bystander, 'bystander during backlog');
        assert.equal(got.data.toString(), 'bystander during backlog');

        // The worker stopped reading it at the read-pause mark; output it takes none of for the
        // close timeout closes it (backpressure.test.mjs has a client that reads slowly).
        await waitFor(() => worker.lines(/output backlog, closing with 1008/).length === 1,
            slow(30000), 'the backlog close', () => worker.stderrText);
        let echoed = 0;
        ws.on('message', (data) => {
            echoed += data.length;
        });
        const closed = wsClosed(ws, 30000);
        ws._socket.resume();
        const { code } = await closed;
        t.diagnostic(`sent ${sent} bytes, ${echoed} echoed before close ${code}`);
        assert.equal(code, 1008, `closed with ${code} after ${sent} bytes sent, ${echoed} echoed`);
        assert.ok(echoed < sent, 'every message was echoed: the cap never applied');
        const after = await echo(bystander, 'bystander after backlog');
        assert.equal(after.data.toString(), 'bystander after backlog');
        const fresh = await openWs(worker);
        assert.equal((await echo(fresh, 'new after backlog')).data.toString(), 'new after backlog');
        fresh.close();
        bystander.close();
    });
});
