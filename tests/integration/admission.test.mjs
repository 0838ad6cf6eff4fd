// HTTP admission of the handshake: 404, 426, bodies, non-HTTP bytes answered at once, the Origin
// allowlist, the message rate limit (4429), connections per address (429) and the Server header.
// The HTTP cases are spoken by hand over node:net, the WebSocket ones with `ws`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
    IO_TIMEOUT_MS, WebSocket, echo, httpExchange, openWs, rawConnect, sleep, startWorker, stopWorker,
    upgradeRequest, withTimeout,
} from './lib/worker.mjs';
import { startFleet, stopFleet } from './lib/fleet.mjs';

// Large on purpose: an answer that waits for the handshake timeout cannot arrive in the 10 s a
// test waits for it, so "answered at once" is checked without a tight timing bound.
const HANDSHAKE_TIMEOUT_S = 30;
const ANSWER_WAIT_MS = 10000;

// Checks a refusal: status, Connection: close, a text body of Content-Length bytes, TCP closed.
function assertRefused(res, status) {
    assert.equal(res.status, status, `expected ${status}, got:\n${res.head}`);
    assert.match((res.headers.connection ?? []).join(','), /\bclose\b/i, res.head);
    assert.equal(res.closed, true, 'worker kept the connection open');
    const length = res.headers['content-length'];
    assert.ok(length && length.length === 1, `no single Content-Length in:\n${res.head}`);
    assert.equal(res.body.length, Number(length[0]));
    assert.ok(res.body.length > 1, 'empty reason body');
}

// The status a `ws` client gets for url: 101 when it opens (then it is closed again).
function handshakeStatus(worker, url, options = {}) {
    const ws = worker.track(new WebSocket(url, { handshakeTimeout: IO_TIMEOUT_MS, ...options }));
    const status = new Promise((resolve, reject) => {
        ws.once('open', () => {
            ws.close();
            resolve(101);
        });
        ws.once('unexpected-response', (req, res) => {
            resolve(res.statusCode);
            req.destroy();
        });
        ws.once('error', reject);
    });
    return withTimeout(status, IO_TIMEOUT_MS * 2, `handshake ${url}`);
}

function tlsClientHello() {
    // A TLS 1.2 record header, a ClientHello handshake header, version and random.
    return Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
        randomBytes(32),
        Buffer.from([0x00, 0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]),
    ]);
}

describe('HTTP admission', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--handshake-timeout', String(HANDSHAKE_TIMEOUT_S)] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a plain GET of an unknown path → 404', async () => {
        const res = await httpExchange(worker, 'GET /foo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assertRefused(res, 404);
        assert.match(res.body.toString(), /not found/i);
    });

    test('an upgrade to an unknown path → 404', async () => {
        assertRefused(await httpExchange(worker, upgradeRequest({ path: '/nowhere' }).text), 404);
    });

    test('/echo without Upgrade: websocket → 426 with Upgrade: websocket', async () => {
        const res = await httpExchange(worker, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assertRefused(res, 426);
        assert.deepEqual(res.headers.upgrade, ['websocket'], res.head);
    });

    test('Content-Length and Transfer-Encoding together → 400, not 101', async () => {
        const req = upgradeRequest({ extra: ['Content-Length: 5', 'Transfer-Encoding: chunked'] });
        assertRefused(await httpExchange(worker, req.text), 400);
    });

    test('Transfer-Encoding alone → 400', async () => {
        const req = upgradeRequest({ extra: ['Transfer-Encoding: chunked'] });
        assertRefused(await httpExchange(worker, req.text), 400);
    });

    test('a body (Content-Length: 5) → 400; Content-Length: 0 upgrades', async () => {
        const req = upgradeRequest({ extra: ['Content-Length: 5'] });
        assertRefused(await httpExchange(worker, `${req.text}hello`), 400);
        const ok = await httpExchange(worker, upgradeRequest({ extra: ['Content-Length: 0'] }).text);
        assert.equal(ok.status, 101, ok.head);
    });

    for (const [name, bytes] of [
        ['a TLS ClientHello', tlsClientHello()],
        ['binary bytes', Buffer.from([0x00, 0xff, 0x13, 0x37])],
        ['a lowercase method', Buffer.from('get /echo HTTP/1.1\r\n')],
    ]) {
        test(`${name} → 400 and closed at once, not after the handshake timeout`, async () => {
            const raw = await rawConnect(worker.port, { worker });
            await raw.write(bytes);
            const res = await raw.readHttpHead(ANSWER_WAIT_MS);
            assert.ok(res, 'worker closed without a response');
            assert.equal(res.status, 400, res.head);
            assert.match((res.headers.connection ?? []).join(','), /close/i);
            assert.ok(await raw.waitEnd(ANSWER_WAIT_MS), 'worker kept the connection open');
            raw.destroy();
        });
    }

    test('a head over 8 KiB → 431', async () => {
        const req = upgradeRequest({ extra: [`X-Pad: ${'a'.repeat(9000)}`] });
        assertRefused(await httpExchange(worker, req.text), 431);
    });

    test('no Server header by default, on 101 or on errors', async () => {
        const ok = await httpExchange(worker, upgradeRequest().text);
        assert.equal(ok.status, 101, ok.head);
        assert.equal(ok.headers.server, undefined, ok.head);
        const res = await httpExchange(worker, 'GET /foo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assert.equal(res.status, 404);
        assert.equal(res.headers.server, undefined, res.head);
    });

    test('after all of that the worker still echoes', async () => {
        const ws = await openWs(worker);
        assert.equal((await echo(ws, 'still here')).data.toString(), 'still here');
        ws.close();
    });
});

describe('--server-header', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--server-header', 'edge-test'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('the value is sent on 101 and on errors', async () => {
        const ok = await httpExchange(worker, upgradeRequest().text);
        assert.equal(ok.status, 101, ok.head);
        assert.deepEqual(ok.headers.server, ['edge-test'], ok.head);
        const res = await httpExchange(worker, 'GET /foo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assertRefused(res, 404);
        assert.deepEqual(res.headers.server, ['edge-test'], res.head);
    });
});

describe('--origins', () => {
    let worker;

    before(async () => {
        worker = await startWorker({
            flags: ['--origins', 'https://app.example.com, https://*.example.org'],
        });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    for (const [origin, status] of [
        ['https://app.example.com', 101],
        ['https://chat.example.org', 101],
        ['https://a.b.example.org', 101],
        ['https://evil.example.net', 403],
        ['http://app.example.com', 403],
        ['https://example.org', 403],
        ['https://app.example.com.evil.net', 403],
        ['null', 403],
    ]) {
        test(`Origin ${origin} → ${status}`, async () => {
            assert.equal(await handshakeStatus(worker, worker.url(), { origin }), status);
        });
    }

    test('a refusal is a complete 403 response', async () => {
        const req = upgradeRequest({ extra: ['Origin: https://evil.example.net'] });
        assertRefused(await httpExchange(worker, req.text), 403);
    });

    test('a client without Origin (not a browser) is admitted', async () => {
        assert.equal(await handshakeStatus(worker, worker.url()), 101);
    });
});

describe('--msg-rate / --msg-burst', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--msg-rate', '10', '--msg-burst', '20'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('messages within the burst are echoed', async () => {
        const ws = await openWs(worker);
        for (let i = 0; i < 10; i++) {
            assert.equal((await echo(ws, `m${i}`)).data.toString(), `m${i}`);
        }
        ws.close();
    });

    test('1000 messages at once close the connection with 4429', async () => {
        // 1000 messages need 98 s at 10/s after the burst of 20: sent at once they are far over.
        const ws = await openWs(worker);
        const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
        for (let i = 0; i < 1000; i++) {
            ws.send(`x${i}`);
        }
        assert.equal(await withTimeout(closed, IO_TIMEOUT_MS * 2, 'close 4429'), 4429);
    });
});

describe('--max-conns-per-ip', () => {
    let worker;

    before(async () => {
        worker = await startWorker({ flags: ['--max-conns-per-ip', '2', '--retry-after', '3'] });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('the third connection from 127.0.0.1 → 429 with Retry-After; a slot frees on close',
        async () => {
            const a = await openWs(worker);
            const b = await openWs(worker);
            const res = await httpExchange(worker, upgradeRequest().text);
            assertRefused(res, 429);
            assert.deepEqual(res.headers['retry-after'], ['3'], res.head);
            assert.equal(await handshakeStatus(worker, worker.url()), 429);

            const gone = new Promise((resolve) => a.once('close', resolve));
            a.close();
            await withTimeout(gone, IO_TIMEOUT_MS, 'close of the first');
            // The worker counts the address down when it closes its side; poll until it has.
            let status = 0;
            for (let i = 0; i < 100 && status !== 101; i++) {
                status = await handshakeStatus(worker, worker.url());
                if (status !== 101) {
                    await sleep(50);
                }
            }
            assert.equal(status, 101);
            b.close();
        });
});

describe('a fleet counts refusals by cause, and they do not trip the breaker', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 1 },
            sections: {
                worker: {
                    origins: 'https://app.example.com',
                    msg_rate: 5,
                    msg_burst: 5,
                    max_conns_per_ip: 50,
                    server_header: 'fleet-test',
                },
            },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('wsctl --json workers shows refused counts; the breaker stays closed', async () => {
        // Twelve refusals: well past [breaker] min_events, were they counted as failures.
        for (let i = 0; i < 4; i++) {
            assertRefused(await httpExchange(fleet, 'GET /foo HTTP/1.1\r\nHost: x\r\n\r\n'), 404);
            const bad = upgradeRequest({ extra: ['Origin: https://evil.test'] });
            const res = await httpExchange(fleet, bad.text);
            assertRefused(res, 403);
            assert.deepEqual(res.headers.server, ['fleet-test'], res.head);
            assertRefused(await httpExchange(fleet, upgradeRequest({ extra: ['Content-Length: 3'] }).text), 400);
        }
        const ws = await openWs(fleet, fleet.url(), { origin: 'https://app.example.com' });
        const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
        for (let i = 0; i < 200; i++) {
            ws.send('x');
        }
        assert.equal(await withTimeout(closed, IO_TIMEOUT_MS * 2, 'close 4429'), 4429);

        const workers = await fleet.waitWorkers((list) => list.some((w) =>
            w.refused?.not_found === 4 && w.refused?.origin === 4 && w.refused?.bad_request === 4 &&
            w.refused?.rate_limited === 1), IO_TIMEOUT_MS * 2, 'refusals in wsctl --json workers');
        const w = workers.find((x) => x.refused?.origin === 4);
        assert.equal(w.refused.per_ip, 0);
        assert.equal(w.refused.upgrade, 0);
        assert.equal(w.breaker, 'closed');
        assert.equal(w.failure_rate, 0);
        assert.equal(w.errors_per_s, 0);
    });
});
