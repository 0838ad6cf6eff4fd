// The HTTP upgrade, spoken by hand over node:net so every malformed request reaches the worker
// exactly as written.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
    OP, acceptFor, buildFrame, canEcho, echo, httpExchange, openWs, rawConnect, sleep, slow,
    startWorker, stopWorker, upgradeRequest,
} from './lib/worker.mjs';

const KEY = randomBytes(16).toString('base64');

// Builds a request from a request line and header lines.
function request(line, headers) {
    return `${line}\r\n${headers.join('\r\n')}\r\n\r\n`;
}

// The valid header set, with `drop` names removed and `add` lines appended.
function headers({ drop = [], add = [] } = {}) {
    const base = [
        ['host', 'Host: 127.0.0.1'],
        ['upgrade', 'Upgrade: websocket'],
        ['connection', 'Connection: Upgrade'],
        ['key', `Sec-WebSocket-Key: ${KEY}`],
        ['version', 'Sec-WebSocket-Version: 13'],
    ];
    return [...base.filter(([name]) => !drop.includes(name)).map(([, l]) => l), ...add];
}

// Checks a refused handshake: status, Connection: close, and TCP closed by the worker.
function assertRefused(res, status) {
    assert.equal(res.status, status, `expected ${status}, got:\n${res.head}`);
    const connection = (res.headers.connection ?? []).join(',').toLowerCase();
    assert.match(connection, /\bclose\b/, `no Connection: close in:\n${res.head}`);
    assert.equal(res.closed, true, 'worker kept the connection open');
    // A complete response: the body is exactly as long as Content-Length says.
    const length = res.headers['content-length'];
    assert.ok(length && length.length === 1, `no single Content-Length in:\n${res.head}`);
    assert.equal(res.body.length, Number(length[0]), `body ${JSON.stringify(res.body.toString())}`);
}

const GET = 'GET /echo HTTP/1.1';

const CASES = [
    ['request head over 8192 bytes', request(GET, headers({ add: [`X-Pad: ${'a'.repeat(8300)}`] })), 431],
    ['request line alone over 8192 bytes', request(`GET /echo?${'q'.repeat(9000)} HTTP/1.1`, headers()), 431],
    ['65 header fields', request(GET, headers({ add: Array.from({ length: 60 }, (_, i) => `X-F${i}: ${i}`) })), 431],
    ['POST', request('POST /echo HTTP/1.1', headers()), 405],
    ['PUT', request('PUT /echo HTTP/1.1', headers()), 405],
    ['HTTP/1.0', request('GET /echo HTTP/1.0', headers()), 505],
    ['HTTP/2.0', request('GET /echo HTTP/2.0', headers()), 505],
    ['missing Host', request(GET, headers({ drop: ['host'] })), 400],
    ['duplicate Host', request(GET, headers({ add: ['Host: 127.0.0.1'] })), 400],
    ['missing Upgrade (plain HTTP)', request(GET, headers({ drop: ['upgrade'] })), 426],
    ['Upgrade: h2c', request(GET, headers({ drop: ['upgrade'], add: ['Upgrade: h2c'] })), 426],
    ['Connection without Upgrade token', request(GET, headers({ drop: ['connection'], add: ['Connection: keep-alive'] })), 400],
    ['Connection: upgraded (not the token)', request(GET, headers({ drop: ['connection'], add: ['Connection: upgraded'] })), 400],
    ['missing Sec-WebSocket-Key', request(GET, headers({ drop: ['key'] })), 400],
    ['Sec-WebSocket-Key not base64', request(GET, headers({ drop: ['key'], add: ['Sec-WebSocket-Key: !!!!not*base64!!!!!!!!'] })), 400],
    ['Sec-WebSocket-Key of 15 bytes', request(GET, headers({ drop: ['key'], add: [`Sec-WebSocket-Key: ${randomBytes(15).toString('base64')}`] })), 400],
    ['Sec-WebSocket-Key of 17 bytes', request(GET, headers({ drop: ['key'], add: [`Sec-WebSocket-Key: ${randomBytes(17).toString('base64')}`] })), 400],
    ['garbage request line', 'HELLO\r\n\r\n', 400],
    ['header line without a colon', request(GET, headers({ add: ['NoColonHere'] })), 400],
    ['missing Sec-WebSocket-Version', request(GET, headers({ drop: ['version'] })), 426],
    ['Sec-WebSocket-Version: 8', request(GET, headers({ drop: ['version'], add: ['Sec-WebSocket-Version: 8'] })), 426],
    ['unknown path', request('GET /nowhere HTTP/1.1', headers()), 404],
];

describe('handshake', () => {
    let worker;

    before(async () => {
        worker = await startWorker();
    });

    afterEach(async () => {
        assert.equal(worker.running, true, `worker died:\n${worker.stderr}`);
        assert.equal(await canEcho(worker), true, 'worker stopped serving after a bad request');
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a valid request upgrades with the right accept value', async () => {
        const req = upgradeRequest();
        const res = await httpExchange(worker, req.text);
        assert.equal(res.status, 101, res.head);
        assert.equal(res.headers['sec-websocket-accept']?.[0], acceptFor(req.key));
        assert.match(res.headers.upgrade?.[0] ?? '', /^websocket$/i);
        assert.match(res.headers.connection?.[0] ?? '', /upgrade/i);
    });

    test('header names and the Upgrade value are case-insensitive; Connection is a token list', async () => {
        const text = request(GET, [
            'host: 127.0.0.1',
            'UPGRADE: WebSocket',
            'connection: keep-alive, Upgrade',
            `sec-websocket-key: ${KEY}`,
            'SEC-WEBSOCKET-VERSION: 13',
        ]);
        const res = await httpExchange(worker, text);
        assert.equal(res.status, 101, res.head);
        assert.equal(res.headers['sec-websocket-accept']?.[0], acceptFor(KEY));
    });

    test('a request head just under 8 KiB upgrades', async () => {
        const base = upgradeRequest({ extra: ['X-Pad: '] }).text;
        const req = upgradeRequest({ extra: [`X-Pad: ${'p'.repeat(8100 - Buffer.byteLength(base))}`] });
        assert.equal(Buffer.byteLength(req.text), 8100);
        const res = await httpExchange(worker, req.text);
        assert.equal(res.status, 101, res.head);
    });

    test('exactly 64 header fields are accepted', async () => {
        const text = request(GET, headers({ add: Array.from({ length: 59 }, (_, i) => `X-F${i}: ${i}`) }));
        const res = await httpExchange(worker, text);
        assert.equal(res.status, 101, res.head);
    });

    for (const [name, text, status] of CASES) {
        test(`${name} → ${status}`, async () => {
            const res = await httpExchange(worker, text);
            assertRefused(res, status);
            if (status === 426) {
                assert.deepEqual(res.headers['sec-websocket-version'], ['13'], res.head);
            }
        });
    }

    test('a request sent one byte at a time still upgrades and echoes', async () => {
        const req = upgradeRequest({ extra: ['User-Agent: slow-drip'] });
        const raw = await rawConnect(worker.port, { worker });
        const bytes = Buffer.from(req.text);
        for (let i = 0; i < bytes.length; i++) {
            await raw.write(bytes.subarray(i, i + 1));
            await sleep(1);
        }
        const res = await raw.readHttpHead();
        assert.ok(res, 'worker closed the connection');
        assert.equal(res.status, 101, res.head);
        assert.equal(res.headers['sec-websocket-accept']?.[0], acceptFor(req.key));
        await raw.send({ opcode: OP.TEXT, payload: 'dripped' });
        const frame = await raw.nextFrame();
        assert.ok(frame);
        assert.equal(frame.payload.toString(), 'dripped');
        raw.destroy();
    });

    test('frames sent in the same write as the request are not lost', async () => {
        const req = upgradeRequest();
        const raw = await rawConnect(worker.port, { worker });
        await raw.write(Buffer.concat([Buffer.from(req.text), buildFrame({ opcode: OP.TEXT, payload: 'eager' })]));
        const res = await raw.readHttpHead();
        assert.ok(res);
        assert.equal(res.status, 101, res.head);
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection closed');
        assert.equal(frame.opcode, OP.TEXT);
        assert.equal(frame.payload.toString(), 'eager');
        raw.destroy();
    });
});

describe('connection limit', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--max-connections', '2', '--retry-after', '7'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a third connection gets 503 with Retry-After, and a slot frees on close', async () => {
        const first = await openWs(worker);
        const second = await openWs(worker);
        const res = await httpExchange(worker, upgradeRequest().text);
        assertRefused(res, 503);
        assert.deepEqual(res.headers['retry-after'], ['7'], res.head);
        // Both admitted connections still work.
        assert.equal((await echo(first, 'one')).data.toString(), 'one');
        assert.equal((await echo(second, 'two')).data.toString(), 'two');
        // Once one closes, a new client gets in (the close is asynchronous: retry briefly).
        first.close(1000);
        await new Promise((resolve) => first.once('close', resolve));
        let status = null;
        for (let i = 0; i < 50 && status !== 101; i++) {
            status = (await httpExchange(worker, upgradeRequest().text)).status;
            if (status !== 101) {
                await sleep(50);
            }
        }
        assert.equal(status, 101);
        second.close();
    });
});

describe('handshake timeout', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--handshake-timeout', '0.5'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    for (const [name, partial] of [
        ['an incomplete request', 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
        ['a silent connection', ''],
    ]) {
        test(`${name} gets 408 after --handshake-timeout`, async () => {
            // The worker's timer starts at accept, so the clock starts before the connect: a
            // busy test process that sees the connection late cannot shorten what it measures.
            const started = Date.now();
            const raw = await rawConnect(worker.port, { worker });
            if (partial) {
                await raw.write(partial);
            }
            const res = await raw.readHttpHead(5000);
            const elapsed = Date.now() - started;
            assert.ok(res, 'worker closed without a response');
            assert.equal(res.status, 408, res.head);
            assert.match((res.headers.connection ?? []).join(','), /close/i);
            assert.ok(elapsed >= 490, `408 after only ${elapsed} ms`);
            assert.ok(await raw.waitEnd(), 'worker kept the connection open');
            raw.destroy();
            assert.equal(await canEcho(worker), true);
        });
    }
});

// A request that completes within the timeout is served, and the timer ends with the upgrade. The
// timeout here is long enough that the test's own pause (200 ms) cannot outlast it on a loaded
// machine; the upgraded connection then stays quiet for longer than the timeout.
describe('handshake completed in time', () => {
    const timeoutMs = slow(2000);
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--handshake-timeout', String(timeoutMs / 1000)] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a request completed in time is not timed out', async () => {
        const raw = await rawConnect(worker.port, { worker });
        const req = upgradeRequest();
        await raw.write(req.text.slice(0, 20));
        await sleep(200);
        await raw.write(req.text.slice(20));
        const res = await raw.readHttpHead();
        assert.ok(res);
        assert.equal(res.status, 101, res.head);
        // After the upgrade the handshake timer no longer applies.
        await sleep(timeoutMs + 300);
        await raw.send({ opcode: OP.TEXT, payload: 'past the handshake timeout' });
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection was closed after upgrade');
        assert.equal(frame.payload.toString(), 'past the handshake timeout');
        raw.destroy();
    });
});
