// TLS (wss://): a standalone worker with --tls-listen serves Node ws over TLS (text, binary, large
// and compressed messages); openssl s_client checks the protocol, the AEAD suite and that no ALPN
// is chosen; TLS 1.1, plain HTTP on the TLS port and a silent client are refused; a bad cert or
// key stops the worker at start with exit 100; SIGHUP reloads a replaced one. A fleet with
// [tls] listen serves wss through its workers, and refuses a bad cert at start with exit 2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
    fleetdPath, iniText, makeTempDir, runProgram, startFleet, stopFleet, TEST_WORKERS,
} from './lib/fleet.mjs';
import {
    IO_TIMEOUT_MS, WebSocket, echo, runWorker, slow, startWorker, stopWorker, withTimeout,
} from './lib/worker.mjs';
import { makeCert, sClient, sClientSession, tlsPort } from './lib/tls.mjs';

// "New" or "Reused": how s_client's handshake went.
function handshakeKind(out) {
    const m = out.match(/^(New|Reused), TLSv1\.\d/m);
    assert.ok(m, out);
    return m[1];
}

// A line of a ticket key file: NAME AES HMAC in hex.
function ticketKeyLine() {
    return [16, 32, 32].map((n) => randomBytes(n).toString('hex')).join(' ');
}

// Opens a wss client; resolves once open.
async function openWss(worker, port, options = {}) {
    const ws = worker.track(new WebSocket(`wss://127.0.0.1:${port}/echo`, {
        handshakeTimeout: IO_TIMEOUT_MS, rejectUnauthorized: false, ...options,
    }));
    await withTimeout(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), IO_TIMEOUT_MS * 2, 'wss open');
    return ws;
}

// Connects a raw TCP socket, writes bytes (if any) and resolves with everything received once the
// worker closes it, and how long that took.
function rawUntilClosed(port, bytes, ms) {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error(`the worker did not close within ${ms} ms`));
        }, ms);
        sock.on('connect', () => {
            if (bytes) {
                sock.write(bytes);
            }
        });
        sock.on('data', (c) => chunks.push(c));
        sock.on('error', () => {});
        sock.on('close', () => {
            clearTimeout(timer);
            resolve({ data: Buffer.concat(chunks), elapsed: Date.now() - t0 });
        });
    });
}

describe('wss on a standalone worker', () => {
    let dir;
    let certs;
    let worker;
    let port;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsf-tls-'));
        certs = makeCert(dir);
        worker = await startWorker({
            flags: ['--tls-listen', '127.0.0.1:0', '--tls-listen', '[::1]:0', '--cert', certs.cert,
                '--key', certs.key, '--handshake-timeout', '1', '--deflate', 'on'],
        });
        port = tlsPort(worker);
    });

    after(async () => {
        const problem = await stopWorker(worker);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(problem, null);
    });

    test('echoes text, binary and large messages over wss', async () => {
        const ws = await openWss(worker, port, { perMessageDeflate: false });
        const text = await echo(ws, 'héllo over TLS');
        assert.equal(text.isBinary, false);
        assert.equal(text.data.toString(), 'héllo over TLS');
        const bin = randomBytes(1000);
        const got = await echo(ws, bin);
        assert.equal(got.isBinary, true);
        assert.ok(got.data.equals(bin));
        const big = randomBytes(700 * 1024); // many records, more than the socket takes at once
        const gotBig = await echo(ws, big, { ms: slow(IO_TIMEOUT_MS * 2) });
        assert.ok(gotBig.data.equals(big), 'large binary echo differs');
        ws.close(1000);
    });

    test('the IPv6 TLS listener serves wss too', async () => {
        const m = worker.stderr.match(/listening on \[::1\]:(\d+) \(TLS\)$/m);
        assert.ok(m, worker.stderr);
        const ws = worker.track(new WebSocket(`wss://[::1]:${m[1]}/echo`, {
            handshakeTimeout: IO_TIMEOUT_MS, rejectUnauthorized: false,
        }));
        await withTimeout(new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
        }), IO_TIMEOUT_MS * 2, 'wss open over IPv6');
        assert.equal((await echo(ws, 'v6')).data.toString(), 'v6');
        ws.close(1000);
    });

    test('echoes compressed messages over wss with permessage-deflate', async () => {
        const ws = await openWss(worker, port, { perMessageDeflate: true });
        assert.match(ws.extensions, /permessage-deflate/);
        const text = 'abcdefgh'.repeat(40000);
        const got = await echo(ws, text, { ms: slow(IO_TIMEOUT_MS * 2) });
        assert.equal(got.data.toString(), text);
        ws.close(1000);
    });

    test('many wss clients at once each get their own echo', async () => {
        const clients = await Promise.all(Array.from({ length: 20 }, () => openWss(worker, port)));
        const replies = await Promise.all(clients.map((ws, i) => echo(ws, `client ${i}`)));
        replies.forEach((r, i) => assert.equal(r.data.toString(), `client ${i}`));
        clients.forEach((ws) => ws.close(1000));
    });

    for (const [flag, proto] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']]) {
        test(`s_client ${flag}: ${proto}, an AEAD suite, no ALPN`, async () => {
            const { out } = await sClient(port, [flag, '-alpn', 'http/1.1']);
            const m = out.match(/New, (TLSv1\.\d), Cipher is (\S+)/);
            assert.ok(m, out);
            assert.equal(m[1], proto);
            assert.match(m[2], /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/);
            if (proto === 'TLSv1.2') {
                assert.match(m[2], /^ECDHE-/, 'forward-secret key exchange');
            }
            assert.match(out, /No ALPN negotiated/);
        });
    }

    test('TLS 1.1 is refused', async () => {
        // SECLEVEL=0 lets this client offer TLS 1.1 at all; the worker must say no.
        const { out } = await sClient(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
        assert.doesNotMatch(out, /New, TLSv1\.1/);
        assert.match(out, /alert protocol version|unsupported protocol|no protocols available/i);
        assert.doesNotMatch(out, /no protocols available/i, 'the client never offered TLS 1.1');
    });

    test('plain HTTP on the TLS port is closed without an HTTP answer', async () => {
        const req = 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\r\n';
        const { data } = await rawUntilClosed(port, req, slow(IO_TIMEOUT_MS));
        assert.doesNotMatch(data.toString('latin1'), /HTTP\/1\.1/);
    });

    test('the handshake timeout closes a client that sends nothing', async () => {
        const { data, elapsed } = await rawUntilClosed(port, null, slow(IO_TIMEOUT_MS * 2));
        assert.equal(data.length, 0);
        assert.ok(elapsed >= 900, `closed after ${elapsed} ms, before the 1 s timeout`);
    });

    test('the plain listener still serves ws:// beside it', async () => {
        const ws = worker.track(new WebSocket(worker.url(), { handshakeTimeout: IO_TIMEOUT_MS }));
        await withTimeout(new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
        }), IO_TIMEOUT_MS * 2, 'ws open');
        assert.equal((await echo(ws, 'plain')).data.toString(), 'plain');
        ws.close(1000);
    });

    // Last in this block: it replaces the worker's certificate.
    test('SIGHUP reloads a replaced certificate; clients stay; a bad one is refused', async () => {
        const subject = async () => {
            const { out } = await sClient(port, ['-tls1_3']);
            const m = out.match(/subject=.*CN ?= ?(\S+)/);
            assert.ok(m, out);
            return m[1];
        };
        const count = (re) => (worker.stderr.match(re) ?? []).length;
        const waitCount = async (re, n) => {
            const deadline = Date.now() + slow(IO_TIMEOUT_MS * 2);
            while (count(re) < n) {
                assert.ok(Date.now() < deadline, `no ${re} after SIGHUP:\n${worker.stderr}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        };
        const okLine = /SIGHUP: TLS certificate reloaded$/gm;
        const badLine = /SIGHUP: TLS reload refused, keeping the current certificate: .+$/gm;
        assert.equal(await subject(), 'localhost');
        const client = await openWss(worker, port, { perMessageDeflate: false });
        assert.equal((await echo(client, 'before')).data.toString(), 'before');

        const next = makeCert(dir, 'next', 'reloaded.example');
        fs.copyFileSync(next.cert, certs.cert);
        fs.copyFileSync(next.key, certs.key);
        worker.kill('SIGHUP');
        await waitCount(okLine, 1);
        for (let i = 0; i < 4; i++) {
            assert.equal(await subject(), 'reloaded.example');
        }
        assert.equal((await echo(client, 'after')).data.toString(), 'after');

        fs.writeFileSync(certs.cert, 'not a certificate\n');
        worker.kill('SIGHUP');
        await waitCount(badLine, 1);
        assert.equal(count(okLine), 1);
        assert.equal(await subject(), 'reloaded.example');
        assert.equal((await echo(client, 'still')).data.toString(), 'still');
        client.close(1000);
    });
});

describe('wsworker refuses a bad certificate or key at start', () => {
    let dir;
    let certs;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsf-tls-bad-'));
        certs = makeCert(dir);
        fs.writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate\n');
        makeCert(dir, 'other');
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases = [
        ['a missing cert', () => [path.join(dir, 'missing.crt'), certs.key], /cert .*missing\.crt/],
        ['a cert that is not PEM', () => [path.join(dir, 'garbage.pem'), certs.key], /cert /],
        ['a key of another cert', () => [certs.cert, path.join(dir, 'other.key')], /key /],
    ];
    for (const [what, files, re] of cases) {
        test(`${what}: one line and exit 100`, async () => {
            const [cert, key] = files();
            const r = await runWorker(['--tls-listen', '127.0.0.1:0', '--cert', cert, '--key', key]);
            assert.equal(r.code, 100, r.stderr);
            const errors = r.stderr.split('\n').filter((l) => /error/.test(l));
            assert.equal(errors.length, 1, r.stderr);
            assert.match(errors[0], re);
            assert.doesNotMatch(r.stderr, /ready$/m);
        });
    }

    test('--tls-listen without --cert is a usage error (exit 100)', async () => {
        const r = await runWorker(['--tls-listen', '127.0.0.1:0']);
        assert.equal(r.code, 100);
        assert.match(r.stderr, /--cert and --key/);
    });
});

describe('session tickets shared through --ticket-keys', () => {
    let dir;
    let certs;
    const workers = {};
    const ports = {};

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsf-tls-tickets-'));
        certs = makeCert(dir);
        const shared = ticketKeyLine();
        const files = {
            a: `${shared}\n`,
            b: `${shared}\n`,
            other: `${ticketKeyLine()}\n`,
            rotated: `${ticketKeyLine()}\n${shared}\n`, // shared is now the previous key
        };
        for (const [name, text] of Object.entries(files)) {
            const file = path.join(dir, `${name}.keys`);
            fs.writeFileSync(file, text, { mode: 0o600 });
            workers[name] = await startWorker({
                flags: ['--tls-listen', '127.0.0.1:0', '--cert', certs.cert, '--key', certs.key,
                    '--ticket-keys', file],
            });
            ports[name] = tlsPort(workers[name]);
        }
    });

    after(async () => {
        const problems = [];
        for (const w of Object.values(workers)) {
            problems.push(await stopWorker(w));
        }
        fs.rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(problems.filter((p) => p !== null), []);
    });

    for (const flag of ['-tls1_2', '-tls1_3']) {
        test(`${flag}: a session from one worker resumes on another with the same keys`,
            async () => {
                const sess = path.join(dir, `sess${flag}`);
                const first = await sClientSession(ports.a, [flag], sess);
                assert.equal(handshakeKind(first.out), 'New');
                const b = await sClient(ports.b, [flag, '-sess_in', sess]);
                assert.equal(handshakeKind(b.out), 'Reused', 'same keys on another worker');
                const prev = await sClient(ports.rotated, [flag, '-sess_in', sess]);
                assert.equal(handshakeKind(prev.out), 'Reused', 'the previous key still works');
                const other = await sClient(ports.other, [flag, '-sess_in', sess]);
                assert.equal(handshakeKind(other.out), 'New', 'other keys: a full handshake');
            });
    }

    test('a missing --ticket-keys file: one line and exit 100', async () => {
        const r = await runWorker(['--tls-listen', '127.0.0.1:0', '--cert', certs.cert, '--key',
            certs.key, '--ticket-keys', path.join(dir, 'missing.keys')]);
        assert.equal(r.code, 100, r.stderr);
        assert.match(r.stderr, /ticket keys .*missing\.keys/);
    });
});

describe('a fleet with [tls] listen', () => {
    let dir;
    let certs;
    let fleet;
    let port;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsf-tls-fleet-'));
        certs = makeCert(dir);
        fleet = await startFleet({
            workers: { count: 2 },
            sections: { tls: { listen: '127.0.0.1:0', cert: certs.cert, key: certs.key } },
        });
        const m = fleet.stderr.match(/listening on 127\.0\.0\.1:(\d+) \((\d+) sockets, TLS\)$/m);
        assert.ok(m, fleet.stderr);
        port = Number(m[1]);
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(problem, null);
    });

    test('wss clients echo through the fleet, and ws:// still works', async () => {
        const clients = await Promise.all(Array.from({ length: 16 }, () => openWss(fleet, port)));
        const replies = await Promise.all(clients.map((ws, i) => echo(ws, `fleet ${i}`)));
        replies.forEach((r, i) => assert.equal(r.data.toString(), `fleet ${i}`));
        clients.forEach((ws) => ws.close(1000));
        const plain = fleet.track(new WebSocket(fleet.url(), { handshakeTimeout: IO_TIMEOUT_MS }));
        await withTimeout(new Promise((resolve, reject) => {
            plain.once('open', resolve);
            plain.once('error', reject);
        }), IO_TIMEOUT_MS * 2, 'ws open');
        assert.equal((await echo(plain, 'plain')).data.toString(), 'plain');
        plain.close(1000);
    });

    test('s_client through the fleet: TLS 1.3 with an AEAD suite', async () => {
        const { out } = await sClient(port, ['-tls1_3']);
        assert.match(out, /New, TLSv1\.3, Cipher is TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+/);
    });

    test('the fleet keeps ticket keys in RUNDIR/tls-tickets (0600) and sessions resume', async () => {
        const file = path.join(fleet.runDir, 'tls-tickets');
        const st = fs.statSync(file);
        assert.equal(st.mode & 0o777, 0o600);
        assert.match(fs.readFileSync(file, 'utf8'), /^[0-9a-f]{32} [0-9a-f]{64} [0-9a-f]{64}\n/);
        const sess = path.join(dir, 'fleet.sess');
        assert.equal(handshakeKind((await sClientSession(port, ['-tls1_3'], sess)).out), 'New');
        // Each connection comes from a new port, so the fleet's steering spreads them.
        for (let i = 0; i < 8; i++) {
            const r = await sClient(port, ['-tls1_3', '-sess_in', sess]);
            assert.equal(handshakeKind(r.out), 'Reused', `resumption ${i}`);
        }
    });

    test('wsctl reload loads a replaced certificate; clients stay; a bad one is refused',
        async () => {
            const subject = async () => {
                const { out } = await sClient(port, ['-tls1_3']);
                const m = out.match(/subject=.*CN ?= ?(\S+)/);
                assert.ok(m, out);
                return m[1];
            };
            assert.equal(await subject(), 'localhost');
            const client = await openWss(fleet, port);
            assert.equal((await echo(client, 'before')).data.toString(), 'before');
            const reloadedBefore = (fleet.stderr.match(/TLS certificate reloaded$/gm) ?? []).length;

            const next = makeCert(dir, 'next', 'reloaded.example');
            fs.copyFileSync(next.cert, certs.cert);
            fs.copyFileSync(next.key, certs.key);
            const r = await fleet.ctl(['reload']);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /TLS certificate sent to 2 workers/);
            // Both workers say so once the command is handled; then every handshake is new.
            const deadline = Date.now() + slow(IO_TIMEOUT_MS * 2);
            while ((fleet.stderr.match(/TLS certificate reloaded$/gm) ?? []).length <
                reloadedBefore + 2) {
                assert.ok(Date.now() < deadline, `workers did not reload:\n${fleet.stderr}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            for (let i = 0; i < 6; i++) {
                assert.equal(await subject(), 'reloaded.example');
            }
            assert.equal((await echo(client, 'after')).data.toString(), 'after');

            fs.writeFileSync(certs.cert, 'not a certificate\n');
            const bad = await fleet.ctl(['reload']);
            assert.equal(bad.code, 1);
            assert.match(bad.stderr, /\[tls\] cert /);
            assert.equal(await subject(), 'reloaded.example');
            assert.equal((await echo(client, 'still')).data.toString(), 'still');
            client.close(1000);
        });
});

describe('wsfleetd refuses a bad [tls] cert at start', () => {
    for (const [what, bad] of [['a missing cert', 'missing'], ['a cert that is not PEM', 'garbage']]) {
        test(`${what}: one line and exit 2`, async () => {
            const dir = makeTempDir();
            try {
                const certs = makeCert(dir);
                const garbage = path.join(dir, 'garbage.pem');
                fs.writeFileSync(garbage, 'not a certificate\n');
                const cert = bad === 'missing' ? path.join(dir, 'missing.crt') : garbage;
                const ini = path.join(dir, 'fleet.ini');
                fs.writeFileSync(ini, iniText({
                    workers: TEST_WORKERS,
                    tls: { listen: '127.0.0.1:0', cert, key: certs.key },
                }));
                const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
                    '127.0.0.1:0', '--run-dir', path.join(dir, 'run')]);
                assert.equal(r.code, 2, r.stderr);
                const lines = r.stderr.split('\n').filter((l) => l.length > 0);
                assert.equal(lines.length, 1, r.stderr);
                assert.match(lines[0], /\[tls\] cert /);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }
});

describe('[tls] ticket_rotation', () => {
    test('rotates the key file and tells the workers, keeping the previous key', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsf-tls-rotate-'));
        let fleet;
        try {
            const certs = makeCert(dir);
            fleet = await startFleet({
                workers: { count: 2 },
                sections: {
                    tls: { listen: '127.0.0.1:0', cert: certs.cert, key: certs.key,
                        ticket_rotation: 3 },
                },
            });
            const file = path.join(fleet.runDir, 'tls-tickets');
            const first = fs.readFileSync(file, 'utf8').split('\n')[0];
            const deadline = Date.now() + slow(IO_TIMEOUT_MS * 2);
            while (!/TLS session ticket key rotated; 2 workers told$/m.test(fleet.stderr)) {
                assert.ok(Date.now() < deadline, `no rotation:\n${fleet.stderr}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l);
            assert.equal(lines.length, 2);
            assert.notEqual(lines[0], first);
            // The next rotation is 3 s away: this is the file of the first one.
            assert.equal(lines[1], first, 'the former key is kept as the previous one');
            assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        } finally {
            const problem = await stopFleet(fleet);
            fs.rmSync(dir, { recursive: true, force: true });
            assert.equal(problem, null);
        }
    });
});
