// The admin HTTP server of a real wsfleetd: every route and status code, the token and its file,
// CORS, keep-alive and request limits, /readyz flipping with the fleet, the /ws feed, and
// /metrics checked by promtool and scraped by a real Prometheus.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
    fleetdPath, iniText, makeTempDir, runProgram, signalPid, startFleet, stopFleet, waitFor, waitGone,
} from './lib/fleet.mjs';
import { slow, WebSocket } from './lib/worker.mjs';

const ALLOWED = 'https://ops.example.test';

// The admin port from the fleet's log line "admin listening on http://127.0.0.1:PORT".
function adminPort(fleet) {
    const m = /admin listening on http:\/\/127\.0\.0\.1:(\d+)$/m.exec(fleet.stderr);
    assert.ok(m, `no admin listening line:\n${fleet.tail()}`);
    return Number(m[1]);
}

function token(fleet) {
    return fs.readFileSync(path.join(fleet.runDir, 'admin.token'), 'utf8').trim();
}

// Sends raw bytes on a fresh connection and resolves with everything the server sent until it
// closed the connection or `idleMs` passed without more bytes.
function raw(port, bytes, idleMs = 1500) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let got = '';
        let timer;
        const done = () => {
            clearTimeout(timer);
            sock.destroy();
            resolve(got);
        };
        const arm = () => {
            clearTimeout(timer);
            timer = setTimeout(done, slow(idleMs));
        };
        sock.on('connect', () => {
            sock.write(bytes);
            arm();
        });
        sock.on('data', (d) => {
            got += d.toString('latin1');
            arm();
        });
        sock.on('end', done);
        sock.on('error', (err) => (got ? done() : reject(err)));
    });
}

// Writes `pieces` on a fresh connection, one every `everyMs`, until they are all sent or the
// server closed the connection; resolves with { got, sent, closedMs } (what the server sent,
// how many pieces went out, and when it closed, from the first byte).
function trickle(port, pieces, everyMs) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let got = '';
        let sent = 0;
        let started = 0;
        let timer;
        const send = () => {
            if (sent < pieces.length && !sock.destroyed) {
                sock.write(pieces[sent++]);
                timer = setTimeout(send, everyMs);
            }
        };
        const giveUp = setTimeout(() => {
            sock.destroy();
            reject(new Error(`no close within ${slow(20000)} ms; got:\n${got}`));
        }, slow(20000));
        sock.on('connect', () => {
            started = Date.now();
            send();
        });
        sock.on('data', (d) => {
            got += d.toString('latin1');
        });
        sock.on('error', () => {}); // a reset after the answer: 'close' follows
        sock.on('close', () => {
            clearTimeout(timer);
            clearTimeout(giveUp);
            resolve({ got, sent, closedMs: Date.now() - started });
        });
    });
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
        srv.on('error', reject);
    });
}

describe('admin HTTP server', { timeout: slow(120000) }, () => {
    let fleet;
    let base;
    let tok;

    const get = (p, headers = {}) => fetch(`${base}${p}`, { headers });
    const post = (p, body, { auth = true, headers = {} } = {}) => fetch(`${base}${p}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json',
            ...(auth ? { Authorization: `Bearer ${tok}` } : {}), ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = async (res) => JSON.parse(await res.text());
    const errorBody = async (res, code) => {
        const body = await json(res);
        assert.equal(body.error.code, code);
        assert.equal(typeof body.error.message, 'string');
        assert.ok(body.error.message.length > 0);
    };

    before(async () => {
        fleet = await startFleet({
            workers: { count: 2, drain_timeout: 4 },
            sections: {
                admin: { listen: '127.0.0.1:0', cors_origins: ALLOWED },
                drills: { enabled: 'yes' },
            },
        });
        base = `http://127.0.0.1:${adminPort(fleet)}`;
        tok = token(fleet);
    });

    after(async () => {
        const bad = await stopFleet(fleet);
        assert.equal(bad, null, bad);
    });

    test('the token file is 0600, 64 hex characters', () => {
        const st = fs.statSync(path.join(fleet.runDir, 'admin.token'));
        assert.equal(st.mode & 0o777, 0o600);
        assert.match(tok, /^[0-9a-f]{64}$/);
    });

    test('/api/cluster on one host: the fleet itself, heard on its sidecar', async () => {
        let doc;
        await waitFor(async () => {
            const res = await get('/api/cluster');
            doc = await json(res);
            return res.status === 200 && doc.fleets?.length === 1;
        }, slow(10000), 'the fleet in /api/cluster', () => JSON.stringify(doc));
        const [f] = doc.fleets;
        assert.equal(f.pid, fleet.pid);
        assert.match(f.name, /^[A-Za-z0-9_-]+$/);
        assert.equal(f.state, 'running');
        assert.ok(f.age_s >= 0 && f.age_s <= 10, JSON.stringify(f));
    });

    test('health, readiness, status, workers and breakers', async () => {
        let res = await get('/healthz');
        assert.equal(res.status, 200);
        res = await get('/readyz');
        assert.equal(res.status, 200);
        const st = await json(await get('/api/status'));
        assert.equal(st.state, 'running');
        assert.equal(st.pid, fleet.pid);
        assert.equal(st.workers_desired, 2);
        assert.equal(st.ready, true);
        assert.equal(st.degraded, false);
        const { workers } = await json(await get('/api/workers'));
        assert.equal(workers.length, 2);
        const fromCtl = await fleet.workers();
        assert.deepEqual(workers.map((w) => w.pid).sort(), fromCtl.map((w) => w.pid).sort());
        for (const w of workers) {
            assert.equal(w.state, 'running');
            assert.equal(w.breaker, 'closed');
            assert.equal(typeof w.rss_bytes, 'number');
        }
        const { breakers } = await json(await get('/api/breakers'));
        assert.deepEqual(breakers.map((b) => [b.slot, b.state]), [[0, 'closed'], [1, 'closed']]);
    });

    test('errors: 404, 405, 401, 400, 413 with a JSON body; 505 and malformed heads', async () => {
        let res = await get('/api/nope');
        assert.equal(res.status, 404);
        await errorBody(res, 404);
        res = await get('/nope.html');
        assert.equal(res.status, 404);
        res = await fetch(`${base}/api/status`, { method: 'DELETE' });
        assert.equal(res.status, 405);
        await errorBody(res, 405);
        res = await fetch(`${base}/api/scale`, { method: 'GET' });
        assert.equal(res.status, 405);
        res = await post('/api/scale', { count: 2 }, { auth: false });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        await errorBody(res, 401);
        res = await post('/api/scale', { count: 2 }, { auth: false,
            headers: { Authorization: `Bearer ${'0'.repeat(64)}` } });
        assert.equal(res.status, 401);
        res = await post('/api/scale', '{"count":');
        assert.equal(res.status, 400);
        await errorBody(res, 400);
        res = await post('/api/scale', { number: 2 });
        assert.equal(res.status, 400);
        res = await post('/api/breaker', { slot: 0, action: 'explode' });
        assert.equal(res.status, 400);
        res = await get('/api/history?seconds=abc');
        assert.equal(res.status, 400);
        res = await get('/api/history?slot=99');
        assert.equal(res.status, 400);
        res = await get('/api/events?since=-1');
        assert.equal(res.status, 400);
        res = await post('/api/drain', { slot: 7 });
        assert.equal(res.status, 409, 'a slot outside the fleet is refused');
        await errorBody(res, 409);

        const port = adminPort(fleet);
        let text = await raw(port, `POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tok}\r\n`
            + 'Content-Length: 70000\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 413 /);
        assert.match(text, /"code":413/);
        text = await raw(port, 'GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 400 /);
        text = await raw(port, 'GARBAGE\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 400 /);
        text = await raw(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
        assert.match(text, /^HTTP\/1\.1 431 /);
        text = await raw(port, 'GET /healthz HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 505 /);
        // A name rebound to 127.0.0.1 by a web page's DNS gets nothing.
        text = await raw(port, 'GET /api/status HTTP/1.1\r\nHost: rebound.example:80\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 403 /);
        assert.match(text, /"code":403/);
        text = await raw(port, 'GET /api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        assert.match(text, /^HTTP\/1\.1 200 /);
    });

    test('keep-alive: pipelined requests on one connection, Connection: close ends it', async () => {
        const text = await raw(adminPort(fleet), 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
            + 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
            + 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 5000);
        const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => Number(m[1]));
        assert.deepEqual(statuses, [200, 200, 200]);
        assert.match(text, /Connection: close\r\n/);
    });

    test('CORS: headers only for an allowed Origin; preflight answered', async () => {
        let res = await get('/api/status', { Origin: ALLOWED });
        assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
        res = await get('/api/status', { Origin: 'https://evil.example.test' });
        assert.equal(res.headers.get('access-control-allow-origin'), null);
        res = await get('/api/status');
        assert.equal(res.headers.get('access-control-allow-origin'), null);
        res = await fetch(`${base}/api/scale`, { method: 'OPTIONS', headers: { Origin: ALLOWED,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization, content-type' } });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
        assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
        res = await fetch(`${base}/api/scale`, { method: 'OPTIONS',
            headers: { Origin: 'https://evil.example.test' } });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('access-control-allow-origin'), null);
    });

    test('the embedded page is served with its CSP', async () => {
        const res = await get('/');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /^text\/html/);
        assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
        const html = await res.text();
        assert.equal(html, fs.readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8'));
        const js = await get('/admin.js');
        assert.equal(js.status, 200);
        assert.match(js.headers.get('content-type'), /^text\/javascript/);
        assert.doesNotMatch(await js.text(), /innerHTML|insertAdjacentHTML|document\.write/);
        // The chart library, installed from npm at build time and embedded whole.
        const vendor = await get('/vendor/uPlot.iife.min.js');
        assert.equal(vendor.status, 200);
        assert.equal(await vendor.text(), fs.readFileSync(new URL(
            '../../web/node_modules/uplot/dist/uPlot.iife.min.js', import.meta.url), 'utf8'));
        assert.equal((await get('/vendor/uPlot.min.css')).status, 200);
        assert.equal((await get('/package.json')).status, 404);
    });

    test('events: posted ones come back after since, and on /ws as they happen', async () => {
        const first = await json(await get('/api/events'));
        assert.ok(first.events.some((e) => e.kind === 'start'), JSON.stringify(first));
        const ws = new WebSocket(`ws://127.0.0.1:${adminPort(fleet)}/ws`);
        const messages = [];
        ws.on('message', (d) => messages.push(JSON.parse(String(d))));
        await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
        });
        try {
            await waitFor(() => messages.some((m) => m.type === 'snapshot'), slow(5000),
                'the first snapshot');
            const snap = messages.find((m) => m.type === 'snapshot');
            assert.equal(snap.status.pid, fleet.pid);
            assert.equal(snap.workers.length, 2);
            const text = 'phase 1: <img src=x onerror=alert(1)>';
            const res = await post('/api/events', { kind: 'drill', text });
            assert.equal(res.status, 200);
            const { id } = await json(res);
            const after = await json(await get(`/api/events?since=${id - 1}`));
            assert.deepEqual(after.events.map((e) => [e.id, e.kind, e.text]), [[id, 'drill', text]]);
            await waitFor(() => messages.some((m) => m.type === 'event' && m.event.id === id),
                slow(5000), 'the event on /ws');
            const count = messages.filter((m) => m.type === 'snapshot').length;
            await waitFor(() => messages.filter((m) => m.type === 'snapshot').length >= count + 2,
                slow(6000), 'two more snapshots, one a second');
            let res2 = await post('/api/events', { kind: 'Bad Kind', text: 'x' });
            assert.equal(res2.status, 400);
            res2 = await post('/api/events', { kind: 'drill', text: 'x' }, { auth: false });
            assert.equal(res2.status, 401);
        } finally {
            ws.close();
        }
    });

    test('history: fleet and per-slot points, one a second', async () => {
        const h = await waitFor(async () => {
            const r = await json(await get('/api/history?seconds=300'));
            return r.points.length >= 3 ? r : null;
        }, slow(10000), 'three history points');
        assert.equal(h.slot, -1);
        const last = h.points.at(-1);
        assert.equal(last.workers, 2);
        for (const k of ['t_ms', 'connections', 'msgs_in', 'msgs_out', 'errors', 'p50_us', 'p99_us']) {
            assert.equal(typeof last[k], 'number', k);
        }
        const gaps = h.points.slice(1).map((p, i) => p.t_ms - h.points[i].t_ms);
        assert.ok(gaps.every((g) => g >= 900), `gaps ${gaps}`);
        const two = await json(await get('/api/history?slot=1&seconds=2'));
        assert.equal(two.slot, 1);
        assert.ok(two.points.length <= 2 && two.points.length >= 1);
        assert.equal(two.points.at(-1).workers, 1);
    });

    test('breaker trip and reset; /readyz is 503 while every breaker is open', async () => {
        for (const slot of [0, 1]) {
            const res = await post('/api/breaker', { slot, action: 'trip' });
            assert.equal(res.status, 200, await res.text());
        }
        const again = await post('/api/breaker', { slot: 0, action: 'trip' });
        assert.equal(again.status, 409);
        const { breakers } = await json(await get('/api/breakers'));
        assert.deepEqual(breakers.map((b) => b.state), ['open', 'open']);
        let res = await get('/readyz');
        assert.equal(res.status, 503);
        assert.equal((await json(await get('/api/status'))).ready, false);
        for (const slot of [0, 1]) {
            res = await post('/api/breaker', { slot, action: 'reset' });
            assert.equal(res.status, 200, await res.text());
        }
        res = await get('/readyz');
        assert.equal(res.status, 200);
        const ev = await json(await get('/api/events'));
        assert.ok(ev.events.some((e) => e.kind === 'breaker' && /closed -> open/.test(e.text)));
    });

    test('scale, autoscale, restart and drain act like wsctl; /readyz 503 while all drain', async () => {
        let res = await post('/api/scale', { count: 3 });
        assert.equal(res.status, 200, await res.text());
        await fleet.waitRunning(3, slow(15000));
        res = await post('/api/autoscale', { on: false, min: 1, max: 4 });
        assert.equal(res.status, 200, await res.text());
        res = await post('/api/autoscale', { on: true, min: 5, max: 4 });
        assert.equal(res.status, 409);
        res = await post('/api/scale', { count: 1 });
        assert.equal(res.status, 200);
        await fleet.waitWorkers((ws) => ws.filter((w) => w.state === 'running').length === 1,
            slow(15000), 'one worker');
        const before = (await fleet.workers()).find((w) => w.state === 'running');
        res = await post('/api/restart', { slot: before.slot });
        assert.equal(res.status, 200, await res.text());
        await fleet.waitWorkers((ws) => ws.some((w) => w.slot === before.slot &&
            w.state === 'running' && w.pid !== before.pid), slow(15000), 'the restarted worker');

        // One client held open keeps the draining worker alive for drain_timeout (4 s).
        const worker = (await fleet.workers()).find((w) => w.state === 'running');
        const client = new WebSocket(fleet.url());
        await new Promise((resolve, reject) => {
            client.once('open', resolve);
            client.once('error', reject);
        });
        client.on('error', () => {});
        try {
            res = await post('/api/drain', { slot: worker.slot });
            assert.equal(res.status, 200, await res.text());
            await waitFor(async () => (await get('/readyz')).status === 503, slow(4000),
                '/readyz 503 while the only worker drains');
            await waitFor(async () => (await get('/readyz')).status === 200, slow(20000),
                '/readyz 200 once its replacement runs');
        } finally {
            client.terminate();
        }
        const ev = await json(await get('/api/events'));
        assert.ok(ev.events.some((e) => e.kind === 'drain' && e.slot === worker.slot));
        assert.ok(ev.events.some((e) => e.kind === 'scale' && /manual/.test(e.text)));
    });

    test('publish goes through the channel path wsctl uses: offsets grow, history has it',
        async () => {
            let res = await post('/api/publish', { channel: 'news', data: { n: 1 } });
            assert.equal(res.status, 200, await res.clone().text());
            const first = (await json(res)).offset;
            assert.ok(first >= 1);
            res = await post('/api/publish', { channel: 'news', data: 'two' });
            assert.equal((await json(res)).offset, first + 1);
            const h = await fleet.ctl(['--json', 'history', 'news']);
            assert.equal(h.code, 0, h.stderr);
            assert.match(h.stdout, /"two"/);
            res = await post('/api/publish', { channel: 'bad channel', data: 1 });
            assert.equal(res.status, 409);
            await errorBody(res, 409);
            res = await post('/api/publish', { channel: 'news' });
            assert.equal(res.status, 400);
            res = await post('/api/publish', { channel: 'news', data: 1 }, { auth: false });
            assert.equal(res.status, 401);
            // The answer comes later (from the channel path): the same CORS headers as any.
            res = await post('/api/publish', { channel: 'news', data: 3 },
                { headers: { Origin: ALLOWED } });
            assert.equal((await json(res)).offset, first + 2);
            assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
            assert.equal(res.headers.get('vary'), 'Origin');
            res = await post('/api/publish', { channel: 'news', data: 4 },
                { headers: { Origin: 'https://evil.example.test' } });
            assert.equal((await json(res)).offset, first + 3);
            assert.equal(res.headers.get('access-control-allow-origin'), null);
        });

    test('/metrics passes promtool check metrics and names the fleet', async () => {
        const res = await get('/metrics');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
        const text = await res.text();
        const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}\n${text.slice(0, 3000)}`);
        assert.match(text, /^wsfleet_up 1$/m);
        assert.match(text, /^wsfleet_workers_desired \d+$/m);
        assert.match(text, /^wsfleet_worker_up\{slot="0"\} [01]$/m);
        assert.match(text, /^wsfleet_breaker_state\{slot="0"\} 0$/m);
        assert.match(text, /^wsfleet_latency_seconds_bucket\{slot="fleet",le="\+Inf"\} \d+$/m);
        assert.match(text, /^wsfleet_sidecar_up 1$/m);
    });

    test('a real Prometheus scrapes /metrics: up == 1', async () => {
        const dir = makeTempDir();
        const promPort = await freePort();
        fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
            'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s',
            'scrape_configs:', '  - job_name: wsfleet', '    static_configs:',
            `      - targets: ['127.0.0.1:${adminPort(fleet)}']`, ''].join('\n'));
        const prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${path.join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        prom.stderr.on('data', (d) => { log += d; });
        try {
            const query = `http://127.0.0.1:${promPort}/api/v1/query?query=`
                + encodeURIComponent('up{job="wsfleet"}');
            const value = await waitFor(async () => {
                try {
                    const r = await (await fetch(query)).json();
                    const v = r?.data?.result?.[0]?.value?.[1];
                    return v === '1' ? v : null;
                } catch {
                    return null;
                }
            }, slow(30000), 'up{job="wsfleet"} == 1', () => log);
            assert.equal(value, '1');
            const series = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=`
                + encodeURIComponent('wsfleet_workers_desired'))).json();
            assert.equal(series.status, 'success');
        } finally {
            signalPid(prom.pid, 'SIGTERM');
            const left = await waitGone([prom.pid], 10000);
            if (left.length) {
                signalPid(prom.pid, 'SIGKILL');
            }
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

// A self-signed P-256 certificate for the IP address ip in dir.
function makeCert(dir, ip = '127.0.0.1') {
    const cert = path.join(dir, 'admin.crt');
    const key = path.join(dir, 'admin.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${ip}`,
        '-addext', `subjectAltName=IP:${ip}`], { stdio: 'ignore' });
    return { cert, key };
}

// GET over HTTPS trusting only `ca`; resolves with { status, body }.
function httpsGet(url, ca, headers = {}) {
    return new Promise((resolve, reject) => {
        const req = https.get(url, { ca, headers }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
    });
}

describe('the dashboard in a real browser', { timeout: slow(60000) }, () => {
    test('headless Chromium renders a row per worker, the charts, and server text as text',
        async () => {
            const fleet = await startFleet({ workers: { count: 2 } });
            try {
                const port = adminPort(fleet);
                const tok = token(fleet);
                const xss = '<img src=x onerror=alert(1)>';
                const res = await fetch(`http://127.0.0.1:${port}/api/events`, {
                    method: 'POST', headers: { Authorization: `Bearer ${tok}` },
                    body: JSON.stringify({ kind: 'drill', text: `phase ${xss}` }),
                });
                assert.equal(res.status, 200);
                const dir = makeTempDir();
                let r;
                try {
                    r = await runProgram('chromium', ['--headless', '--no-sandbox', '--disable-gpu',
                        `--user-data-dir=${dir}`, '--virtual-time-budget=5000', '--dump-dom',
                        `http://127.0.0.1:${port}/`], slow(40000));
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
                assert.equal(r.code, 0, r.stderr);
                const dom = r.stdout;
                const pids = [...dom.matchAll(/<tr data-slot="\d+" data-pid="(\d+)"/g)]
                    .map((m) => Number(m[1])).sort();
                const fromCtl = (await fleet.workers()).map((w) => w.pid).sort();
                assert.deepEqual(pids, fromCtl, dom.slice(dom.indexOf('<body'), dom.indexOf('<body') + 3000));
                assert.match(dom, /class="uplot/, 'the charts were drawn');
                assert.ok(dom.includes('phase &lt;img src=x onerror=alert(1)&gt;'), 'the drill text');
                assert.doesNotMatch(dom, /<img/, 'server text became markup');
            } finally {
                const bad = await stopFleet(fleet);
                assert.equal(bad, null, bad);
            }
        });
});

describe('admin settings at start', { timeout: slow(60000) }, () => {
    test('TLS: [admin] tls_cert and tls_key serve HTTPS; a bad pair or a clear-text '
        + 'non-loopback listen is refused with exit 2', async () => {
        const dir = makeTempDir();
        try {
            const { cert, key } = makeCert(dir);
            const fleet = await startFleet({ workers: { count: 1 }, sections: {
                admin: { listen: '127.0.0.1:0', tls_cert: cert, tls_key: key } } });
            try {
                const m = /admin listening on https:\/\/127\.0\.0\.1:(\d+)$/m.exec(fleet.stderr);
                assert.ok(m, fleet.tail());
                const ca = fs.readFileSync(cert);
                const st = await httpsGet(`https://127.0.0.1:${m[1]}/api/status`, ca);
                assert.equal(st.status, 200);
                assert.equal(JSON.parse(st.body).pid, fleet.pid);
                const ready = await httpsGet(`https://127.0.0.1:${m[1]}/readyz`, ca);
                assert.equal(ready.status, 200);
                // Clear text on the TLS port gets no HTTP answer (a reset or an alert).
                const plain = await raw(Number(m[1]), 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
                    .catch((err) => err.code);
                assert.doesNotMatch(plain, /^HTTP\/1\.1 200/);
            } finally {
                const bad = await stopFleet(fleet);
                assert.equal(bad, null, bad);
            }
            const refuse = async (admin, re) => {
                const ini = path.join(dir, 'refused.ini');
                fs.writeFileSync(ini, iniText({ admin }));
                const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
                    '127.0.0.1:0', '--run-dir', path.join(dir, 'run')], slow(10000));
                assert.equal(r.code, 2, r.stderr);
                const lines = r.stderr.split('\n').filter((l) => l !== '');
                assert.equal(lines.length, 1, r.stderr);
                assert.match(lines[0], re);
            };
            await refuse({ listen: '0.0.0.0:0' }, /\[admin\] listen 0\.0\.0\.0:0 is not a loopback address/);
            await refuse({ listen: '127.0.0.1:0', tls_cert: cert }, /tls_cert and tls_key go together/);
            await refuse({ listen: '127.0.0.1:0', tls_cert: key, tls_key: key },
                /\[admin\] tls_cert .* cannot load/);
            await refuse({ listen: '127.0.0.1:0', cors_origins: 'https://a.example/path' },
                /\[admin\] cors_origins: not a list of origins/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test('from a peer that is not on loopback, state needs the token too', async (t) => {
        const addr = Object.values(os.networkInterfaces()).flat()
            .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
        if (!addr) {
            t.skip('this machine has no IPv4 address besides loopback');
            return;
        }
        const dir = makeTempDir();
        try {
            const { cert, key } = makeCert(dir, addr);
            const fleet = await startFleet({ workers: { count: 1 }, sections: {
                admin: { listen: `${addr}:0`, tls_cert: cert, tls_key: key } } });
            try {
                const m = new RegExp(`admin listening on https://${addr.replace(/\./g, '\\.')}:(\\d+)$`, 'm')
                    .exec(fleet.stderr);
                assert.ok(m, fleet.tail());
                const url = `https://${addr}:${m[1]}`;
                const ca = fs.readFileSync(cert);
                const tok = token(fleet);
                assert.equal((await httpsGet(`${url}/healthz`, ca)).status, 200);
                assert.equal((await httpsGet(`${url}/readyz`, ca)).status, 200);
                assert.equal((await httpsGet(`${url}/`, ca)).status, 200);
                for (const p of ['/api/status', '/api/workers', '/api/events', '/metrics', '/ws']) {
                    const r = await httpsGet(`${url}${p}`, ca);
                    assert.equal(r.status, 401, p);
                    assert.equal(JSON.parse(r.body).error.code, 401);
                }
                const ok = await httpsGet(`${url}/api/status`, ca, { Authorization: `Bearer ${tok}` });
                assert.equal(ok.status, 200);
                assert.equal(JSON.parse(ok.body).pid, fleet.pid);
                // A browser's WebSocket cannot set headers: the feed takes ?token= as well.
                const ws = new WebSocket(`wss://${addr}:${m[1]}/ws?token=${tok}`, { ca });
                const first = await new Promise((resolve, reject) => {
                    ws.once('message', (d) => resolve(JSON.parse(String(d))));
                    ws.once('error', reject);
                });
                ws.close();
                assert.equal(first.type, 'snapshot');
            } finally {
                const bad = await stopFleet(fleet);
                assert.equal(bad, null, bad);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test('a request still incomplete [admin] request_timeout after its first byte gets 408; '
        + 'the token file goes at a clean stop', async () => {
        const fleet = await startFleet({ workers: { count: 1 },
            sections: { admin: { listen: '127.0.0.1:0', request_timeout: 1 } } });
        try {
            const port = adminPort(fleet);
            // A head that keeps coming, a line every 200 ms (so never idle), is cut off once the
            // second has passed (the idle timeout of 15 s never fires: bytes keep arriving).
            let text = await trickle(port, ['GET /healthz HTTP/1.1\r\n', 'Host: 127.0.0.1\r\n',
                ...Array(100).fill('X-Slow: 1\r\n')], 200);
            assert.match(text.got, /^HTTP\/1\.1 408 /);
            assert.match(text.got, /Connection: close\r\n/);
            assert.match(text.got, /"code":408/);
            assert.ok(text.closedMs >= 900 && text.closedMs < slow(10000),
                `closed ${text.closedMs} ms after the first byte`);
            assert.ok(text.sent < 100, 'the server closed before the head was whole');
            // A body that trickles counts too.
            const body = '{"kind":"drill","text":"slow"}';
            text = await trickle(port, [`POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n`
                + `Authorization: Bearer ${token(fleet)}\r\nContent-Type: application/json\r\n`
                + `Content-Length: ${body.length}\r\n\r\n`, ...body], 200);
            assert.match(text.got, /^HTTP\/1\.1 408 /);
            // The server serves on.
            assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

            const tokenFile = path.join(fleet.runDir, 'admin.token');
            assert.ok(fs.existsSync(tokenFile));
            const exit = await fleet.signalAndWait('SIGTERM', slow(20000));
            assert.equal(exit?.code, 0, fleet.tail());
            assert.ok(!fs.existsSync(tokenFile), 'admin.token left behind at a clean stop');
        } finally {
            const bad = await stopFleet(fleet);
            assert.equal(bad, null, bad);
        }
    });

    test('a taken admin port is exit 2 naming it; off disables the server', async () => {
        const holder = net.createServer();
        await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
        const { port } = holder.address();
        try {
            await assert.rejects(startFleet({ sections: { admin: { listen: `127.0.0.1:${port}` } } }),
                /wsfleetd exited.*"code":2[\s\S]*admin: cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
        } finally {
            holder.close();
        }
        const fleet = await startFleet({ workers: { count: 1 }, sections: { admin: { listen: 'off' } } });
        try {
            assert.doesNotMatch(fleet.stderr, /admin listening/);
            assert.ok(!fs.existsSync(path.join(fleet.runDir, 'admin.token')));
        } finally {
            const bad = await stopFleet(fleet);
            assert.equal(bad, null, bad);
        }
    });
});
