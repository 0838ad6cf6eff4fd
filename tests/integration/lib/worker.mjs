// Starts the real wsworker for integration tests and talks to it: a process handle that parses
// the ready/listening lines, a ws-client helper, and a raw TCP client that builds and parses
// WebSocket frames by hand so malformed input never goes through ws's own validation.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export { WebSocket, sleep };

// How much slower this run is than a release build: the asan preset sets CK_TIMEOUT_MULTIPLIER=3
// for every test, Check's suites and these alike. A wall-clock bound in a test is a liveness
// bound (it happened at all, not only after some much later timer), never a speed requirement,
// and goes through slow().
export const SLOWDOWN = (() => {
    const f = Number(process.env.CK_TIMEOUT_MULTIPLIER);
    return Number.isFinite(f) && f >= 1 && f <= 100 ? f : 1;
})();

// `ms` stretched by SLOWDOWN.
export function slow(ms) {
    return Math.round(ms * SLOWDOWN);
}

// Under AddressSanitizer the worker runs ~3x slower; every wait below is sized for that.
export const READY_TIMEOUT_MS = 15000;
export const IO_TIMEOUT_MS = 5000;
const STOP_KILL_AFTER_MS = 5000;
const STDERR_CAP = 8 * 1024 * 1024;

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function workerPath() {
    const path = process.env.WSWORKER;
    if (!path) {
        throw new Error('set WSWORKER to the wsworker executable (ctest does this)');
    }
    return path;
}

// Resolves when `promise` does, rejects with `what` after `ms`.
export async function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

// Resolves once `child` has been spawned; rejects when it could not be, or after `ms`.
export async function spawned(child, ms, what) {
    const started = new Promise((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
    });
    return withTimeout(started, ms, `spawn ${what}`);
}

// Resolves like `promise`, or with null after `ms`.
export async function orNull(promise, ms) {
    let timer;
    const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

// Drops every client in `clients` (ws clients and raw sockets) and empties the set.
export function dropClients(clients) {
    for (const client of clients) {
        if (client instanceof WebSocket) {
            client.terminate();
        } else {
            client.destroy();
        }
    }
    clients.clear();
}

// Every worker not yet known to have exited: if the test process ends without stopping one (a
// crash, an uncaught error), the exit hook kills it so no stray worker outlives the run.
const live = new Set();
process.on('exit', () => {
    for (const child of live) {
        child.kill('SIGKILL');
    }
});

// A running wsworker. Use startWorker() to make one and stop() in an after/finally hook.
class Worker {
    constructor(child, args) {
        this.child = child;
        this.pid = child.pid;
        this.args = args;
        this.stderrText = '';
        this.stdoutText = '';
        this.listeners = []; // { host, port }
        this.exit = null; // { code, signal } once exited
        this.clients = new Set(); // sockets and ws clients to tear down before stopping
        live.add(child);
        // 'close' rather than 'exit': by then every line the worker wrote to stderr is in.
        this.exited = new Promise((resolve) => {
            child.on('close', (code, signal) => {
                live.delete(child);
                this.exit = { code, signal };
                resolve(this.exit);
            });
        });
        child.stderr.setEncoding('utf8');
        child.stdout.setEncoding('utf8');
        child.stderr.on('data', (chunk) => {
            if (this.stderrText.length < STDERR_CAP) {
                this.stderrText += chunk;
            }
        });
        child.stdout.on('data', (chunk) => {
            if (this.stdoutText.length < STDERR_CAP) {
                this.stdoutText += chunk;
            }
        });
    }

    get stderr() {
        return this.stderrText;
    }

    get port() {
        const v4 = this.listeners.find((l) => !l.host.startsWith('['));
        return v4 ? v4.port : undefined;
    }

    get port6() {
        const v6 = this.listeners.find((l) => l.host.startsWith('['));
        return v6 ? v6.port : undefined;
    }

    get running() {
        return this.exit === null;
    }

    url(path = '/echo', v6 = false) {
        return v6 ? `ws://[::1]:${this.port6}${path}` : `ws://127.0.0.1:${this.port}${path}`;
    }

    // Lines of stderr that match `re`.
    lines(re) {
        return this.stderrText.split('\n').filter((line) => re.test(line));
    }

    track(client) {
        this.clients.add(client);
        return client;
    }

    async waitReady(ms) {
        const ready = new Promise((resolve, reject) => {
            const check = () => {
                if (/: ready$/m.test(this.stderrText)) {
                    resolve();
                    return true;
                }
                return false;
            };
            if (check()) {
                return;
            }
            const onData = () => {
                if (check()) {
                    this.child.stderr.off('data', onData);
                }
            };
            this.child.stderr.on('data', onData);
            this.exited.then((exit) => {
                reject(new Error(`wsworker exited (${JSON.stringify(exit)}) before ready:\n` +
                    this.stderrText));
            });
        });
        try {
            await withTimeout(ready, ms, 'wsworker ready line');
        } catch (err) {
            err.message += `; stderr so far:\n${this.stderrText}`;
            throw err;
        }
        for (const match of this.stderrText.matchAll(/listening on (\S+):(\d+)$/gm)) {
            this.listeners.push({ host: match[1], port: Number(match[2]) });
        }
        if (this.listeners.length === 0) {
            throw new Error(`no "listening on" line before ready:\n${this.stderrText}`);
        }
    }

    // Signals the worker by PID; a worker that is already gone is not an error here.
    kill(signal) {
        try {
            process.kill(this.pid, signal);
        } catch (err) {
            if (err.code !== 'ESRCH') {
                throw err;
            }
        }
    }

    // Sends `signal` and resolves with { code, signal } once the process exits, or null after `ms`.
    async signalAndWait(signal, ms) {
        if (this.exit) {
            return this.exit;
        }
        this.kill(signal);
        return orNull(this.exited, ms);
    }

    // Tears down every tracked client, then SIGTERM, wait, SIGKILL after 5 s.
    // Resolves with { code, signal, killed }.
    async stop() {
        dropClients(this.clients);
        if (this.exit) {
            return { ...this.exit, killed: false };
        }
        const exit = await this.signalAndWait('SIGTERM', STOP_KILL_AFTER_MS);
        if (exit) {
            return { ...exit, killed: false };
        }
        this.kill('SIGKILL');
        return { ...(await this.exited), killed: true };
    }
}

// Starts wsworker on 127.0.0.1:0 (and [::1]:0 when ipv6) plus `flags`, waits for `ready`.
// The returned Worker must be stopped by the caller.
export async function startWorker({ flags = [], ipv6 = false, readyTimeoutMs = READY_TIMEOUT_MS,
    env = {} } = {}) {
    const args = ['--listen', '127.0.0.1:0'];
    if (ipv6) {
        args.push('--listen', '[::1]:0');
    }
    args.push(...flags);
    const child = spawn(workerPath(), args,
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const worker = new Worker(child, args);
    await spawned(child, readyTimeoutMs, workerPath());
    try {
        await worker.waitReady(readyTimeoutMs);
    } catch (err) {
        await worker.stop();
        throw err;
    }
    return worker;
}

// Stops `worker` and returns a message for assert when it did not exit 0 on its own.
export async function stopWorker(worker) {
    if (!worker) {
        return null;
    }
    const result = await worker.stop();
    if (result.code === 0 && !result.killed) {
        return null;
    }
    return `wsworker did not exit cleanly: ${JSON.stringify(result)}\nstderr:\n` +
        worker.stderr.slice(-20000);
}

// Runs wsworker to completion with `args` (no listen flags added); resolves with
// { code, signal, stdout, stderr }. Kills it after `ms`.
export async function runWorker(args, ms = 10000) {
    const child = spawn(workerPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    live.add(child);
    const exited = new Promise((resolve) => {
        child.on('close', (code, signal) => {
            live.delete(child);
            resolve({ code, signal });
        });
    });
    let timer;
    const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
    });
    let exit = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (!exit) {
        child.kill('SIGKILL');
        await exited;
        exit = { code: null, signal: 'timeout' };
    }
    await new Promise((resolve) => setImmediate(resolve));
    return { ...exit, stdout, stderr };
}

// ---------------------------------------------------------------------------------------------
// ws client helpers

// Opens a ws client to `url`; resolves once open. Tracked by `worker` so stop() tears it down.
export async function openWs(worker, url = worker.url(), options = {}) {
    const ws = worker.track(new WebSocket(url, { handshakeTimeout: IO_TIMEOUT_MS, ...options }));
    const opened = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => {
            reject(new Error(`unexpected HTTP ${res.statusCode} from ${url}`));
        });
    });
    await withTimeout(opened, IO_TIMEOUT_MS * 2, `ws open ${url}`);
    return ws;
}

// Sends `data` and resolves with { data, isBinary } of the next message.
export async function echo(ws, data, { binary = typeof data !== 'string', ms = IO_TIMEOUT_MS } = {}) {
    const reply = new Promise((resolve, reject) => {
        const onMessage = (payload, isBinary) => {
            ws.off('close', onClose);
            resolve({ data: payload, isBinary });
        };
        const onClose = (code) => {
            ws.off('message', onMessage);
            reject(new Error(`closed with ${code} while waiting for an echo`));
        };
        ws.once('message', onMessage);
        ws.once('close', onClose);
    });
    ws.send(data, { binary });
    return withTimeout(reply, ms, `echo of ${data.length} bytes`);
}

// Resolves with { code, reason } when `ws` emits close.
export function wsClosed(ws, ms = IO_TIMEOUT_MS) {
    if (ws.readyState === WebSocket.CLOSED) {
        return Promise.resolve({ code: ws._closeCode, reason: String(ws._closeMessage ?? '') });
    }
    const closed = new Promise((resolve) => {
        ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    return withTimeout(closed, ms, 'ws close event');
}

// Asserts nothing itself: returns true when a fresh ws client can echo on `worker`.
export async function canEcho(worker, text = 'still serving') {
    const ws = await openWs(worker);
    try {
        const got = await echo(ws, text);
        return !got.isBinary && got.data.toString() === text;
    } finally {
        ws.terminate();
        worker.clients.delete(ws);
    }
}

// ---------------------------------------------------------------------------------------------
// Frames, built and parsed by hand

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

// Builds one client frame. `rsv` is the 3-bit RSV field (4 = RSV1). `len64` forces the 8-byte
// length form with that BigInt value and then appends `payload` as given (which may be shorter).
export function buildFrame({
    opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, masked = true, len64 = null,
    maskKey = randomBytes(4),
}) {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf))];
    const maskBit = masked ? 0x80 : 0;
    let ext;
    if (len64 !== null) {
        head.push(maskBit | 127);
        ext = Buffer.alloc(8);
        ext.writeBigUInt64BE(BigInt(len64));
    } else if (body.length < 126) {
        head.push(maskBit | body.length);
        ext = Buffer.alloc(0);
    } else if (body.length < 65536) {
        head.push(maskBit | 126);
        ext = Buffer.alloc(2);
        ext.writeUInt16BE(body.length);
    } else {
        head.push(maskBit | 127);
        ext = Buffer.alloc(8);
        ext.writeBigUInt64BE(BigInt(body.length));
    }
    const parts = [Buffer.from(head), ext];
    if (masked) {
        const masked = Buffer.alloc(body.length);
        for (let i = 0; i < body.length; i++) {
            masked[i] = body[i] ^ maskKey[i & 3];
        }
        parts.push(maskKey, masked);
    } else {
        parts.push(body);
    }
    return Buffer.concat(parts);
}

// A close payload: 2-byte code plus reason (string or Buffer).
export function closePayload(code, reason = '') {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(code);
    return Buffer.concat([head, Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);
}

// Parses one server frame from the start of `buf`. Returns { frame, used } or null for "need more".
// frame: { fin, rsv, opcode, masked, payload, code?, reason? } (code/reason for close frames).
export function parseFrame(buf) {
    if (buf.length < 2) {
        return null;
    }
    const fin = (buf[0] & 0x80) !== 0;
    const rsv = (buf[0] >> 4) & 7;
    const opcode = buf[0] & 0xf;
    const masked = (buf[1] & 0x80) !== 0;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) {
        if (buf.length < 4) {
            return null;
        }
        len = buf.readUInt16BE(2);
        off = 4;
    } else if (len === 127) {
        if (buf.length < 10) {
            return null;
        }
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
            throw new Error(`server frame length ${big} is absurd`);
        }
        len = Number(big);
        off = 10;
    }
    let key = null;
    if (masked) {
        if (buf.length < off + 4) {
            return null;
        }
        key = buf.subarray(off, off + 4);
        off += 4;
    }
    if (buf.length < off + len) {
        return null;
    }
    const payload = Buffer.from(buf.subarray(off, off + len));
    if (key) {
        for (let i = 0; i < payload.length; i++) {
            payload[i] ^= key[i & 3];
        }
    }
    const frame = { fin, rsv, opcode, masked, payload };
    if (opcode === OP.CLOSE) {
        frame.code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
        frame.reason = payload.length > 2 ? payload.subarray(2) : Buffer.alloc(0);
    }
    return { frame, used: off + len };
}

// ---------------------------------------------------------------------------------------------
// Raw TCP client

// A TCP connection with a receive buffer and promise-based reads. The worker's FIN shows up as
// `ended`; a full close as `closed`.
export class RawClient {
    constructor(socket) {
        this.socket = socket;
        this.buf = Buffer.alloc(0);
        this.ended = false;
        this.closed = false;
        this.error = null;
        this.waiters = new Set();
        socket.on('data', (chunk) => {
            this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
            this.wake();
        });
        socket.on('end', () => {
            this.ended = true;
            this.wake();
        });
        socket.on('error', (err) => {
            this.error = err;
            this.wake();
        });
        socket.on('close', () => {
            this.closed = true;
            this.ended = true;
            this.wake();
        });
    }

    wake() {
        for (const waiter of this.waiters) {
            waiter();
        }
    }

    // Resolves with the result of `take()` once it returns non-null; null once the stream ends
    // without it; rejects after `ms`.
    async waitFor(take, ms, what) {
        let check;
        const result = new Promise((resolve, reject) => {
            check = () => {
                let value;
                try {
                    value = take();
                } catch (err) {
                    this.waiters.delete(check);
                    reject(err);
                    return;
                }
                if (value !== null && value !== undefined) {
                    this.waiters.delete(check);
                    resolve(value);
                } else if (this.ended || this.closed) {
                    this.waiters.delete(check);
                    resolve(null);
                }
            };
            this.waiters.add(check);
            check();
        });
        try {
            return await withTimeout(result, ms, what);
        } finally {
            // A timed-out waiter must not linger.
            this.waiters.delete(check);
        }
    }

    write(bytes) {
        return new Promise((resolve, reject) => {
            this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
        });
    }

    send(frameSpec) {
        return this.write(buildFrame(frameSpec));
    }

    // Next server frame, or null if the worker closed the stream first.
    nextFrame(ms = IO_TIMEOUT_MS) {
        return this.waitFor(() => {
            const parsed = parseFrame(this.buf);
            if (!parsed) {
                return null;
            }
            this.buf = this.buf.subarray(parsed.used);
            return parsed.frame;
        }, ms, 'next server frame');
    }

    // Next frame that is not a ping or pong (pings are not answered).
    async nextDataFrame(ms = IO_TIMEOUT_MS) {
        const deadline = Date.now() + ms;
        for (let i = 0; i < 10000; i++) {
            const frame = await this.nextFrame(Math.max(1, deadline - Date.now()));
            if (!frame || (frame.opcode !== OP.PING && frame.opcode !== OP.PONG)) {
                return frame;
            }
        }
        throw new Error('too many control frames');
    }

    // Resolves true once the worker has sent FIN (or the socket is gone); rejects after `ms`.
    async waitEnd(ms = IO_TIMEOUT_MS) {
        await this.waitFor(() => (this.ended ? true : null), ms, 'worker to close TCP');
        return this.ended;
    }

    // Reads an HTTP response head; resolves with { status, headers, head, rest } or null.
    readHttpHead(ms = IO_TIMEOUT_MS) {
        return this.waitFor(() => {
            const end = this.buf.indexOf('\r\n\r\n');
            if (end < 0) {
                return null;
            }
            const head = this.buf.subarray(0, end).toString('latin1');
            this.buf = this.buf.subarray(end + 4);
            return parseHttpHead(head);
        }, ms, 'HTTP response head');
    }

    destroy() {
        this.socket.destroy();
    }
}

// Parses "HTTP/1.1 101 ...\r\nName: value..." into { status, reason, headers (lowercased names,
// arrays of values), head }.
export function parseHttpHead(head) {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) {
        throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
    }
    const headers = {};
    for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) {
            throw new Error(`bad header line: ${JSON.stringify(line)}`);
        }
        const name = line.slice(0, colon).trim().toLowerCase();
        (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    return { status: Number(m[1]), reason: m[2] ?? '', headers, head };
}

// Opens a TCP connection to host:port. Tracked by `worker` when given.
export async function rawConnect(port, { host = '127.0.0.1', worker = null } = {}) {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.setNoDelay(true);
    const client = new RawClient(socket);
    if (worker) {
        worker.track(client);
    }
    const connected = new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
    });
    await withTimeout(connected, IO_TIMEOUT_MS, `connect ${host}:${port}`);
    return client;
}

export function acceptFor(key) {
    return createHash('sha1').update(key + WS_GUID).digest('base64');
}

// A valid upgrade request for `path`, with `extra` header lines appended.
export function upgradeRequest({ path = '/echo', host = '127.0.0.1', key = randomBytes(16).toString('base64'), extra = [] } = {}) {
    const lines = [
        `GET ${path} HTTP/1.1`,
        `Host: ${host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
        ...extra,
    ];
    return { text: lines.join('\r\n') + '\r\n\r\n', key };
}

// Connects and performs a valid handshake by hand; resolves with a RawClient ready for frames.
export async function rawWebSocket(worker, { path = '/echo', host = '127.0.0.1', port = worker.port } = {}) {
    const client = await rawConnect(port, { host, worker });
    const req = upgradeRequest({ path });
    await client.write(req.text);
    const res = await client.readHttpHead();
    if (!res || res.status !== 101) {
        client.destroy();
        throw new Error(`handshake failed: ${res ? res.head : 'connection closed'}`);
    }
    const accept = res.headers['sec-websocket-accept']?.[0];
    if (accept !== acceptFor(req.key)) {
        client.destroy();
        throw new Error(`bad Sec-WebSocket-Accept ${accept}`);
    }
    return client;
}

// Sends one raw HTTP request and reads the response head; unless it is a 101, waits for the worker
// to close and keeps what followed the head. Resolves with { status, headers, head, closed, body }.
export async function httpExchange(worker, bytes, { ms = IO_TIMEOUT_MS } = {}) {
    const client = await rawConnect(worker.port, { worker });
    try {
        await client.write(bytes);
        const res = await client.readHttpHead(ms);
        if (!res) {
            return { status: null, headers: {}, head: '', closed: true };
        }
        let closed = false;
        let body = Buffer.alloc(0);
        if (res.status !== 101) {
            closed = await client.waitEnd(ms);
            body = client.buf;
        }
        return { ...res, closed, body };
    } finally {
        client.destroy();
        worker.clients.delete(client);
    }
}
