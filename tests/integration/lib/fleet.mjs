// Runs a real wsfleetd for integration tests: a temp directory with an INI config and the run
// directory, the supervisor in the foreground (its stderr carries its workers' lines too), wsctl
// calls, and the bookkeeping that makes sure no supervisor or worker outlives a test. Processes
// are only ever signalled by PID: the supervisor's own, and worker PIDs learned from its log and
// from wsctl (checked against /proc before any signal, so a recycled PID is never hit).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
    dropClients, IO_TIMEOUT_MS, orNull, READY_TIMEOUT_MS, slow, spawned, WebSocket, withTimeout,
} from './worker.mjs';

export { sleep };

// Under AddressSanitizer everything is ~3x slower; the bounds below are sized for that.
export const FLEET_READY_TIMEOUT_MS = READY_TIMEOUT_MS;
const STOP_KILL_AFTER_MS = 10000;
const STDERR_CAP = 8 * 1024 * 1024;
const POLL_MS = 50;

function envPath(name, what) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`set ${name} to the ${what} executable (ctest does this)`);
    }
    return value;
}

export function fleetdPath() {
    return envPath('WSFLEETD', 'wsfleetd');
}

export function wsctlPath() {
    return envPath('WSCTL', 'wsctl');
}

// ---------------------------------------------------------------------------------------------
// Processes by PID

// /proc/PID/stat's state letter, or null when there is no such process.
function procState(pid) {
    let stat;
    try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
        return null;
    }
    const close = stat.lastIndexOf(')');
    return close < 0 ? null : stat.slice(close + 2, close + 3);
}

// True while `pid` is a process that has not exited (a zombie waiting to be reaped has exited).
export function pidAlive(pid) {
    const state = procState(pid);
    return state !== null && state !== 'Z' && state !== 'X';
}

// True when `pid` is alive and runs wsworker: the only kind of PID the cleanup ever signals.
function isLiveWorker(pid) {
    if (!pidAlive(pid)) {
        return false;
    }
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith('wsworker');
    } catch {
        return false;
    }
}

// Signals `pid`; a process that is already gone is not an error.
export function signalPid(pid, signal) {
    try {
        process.kill(pid, signal);
        return true;
    } catch (err) {
        if (err.code !== 'ESRCH') {
            throw err;
        }
        return false;
    }
}

// Resolves with the PIDs of `pids` still alive after `ms` (an empty array once all are gone).
export async function waitGone(pids, ms) {
    const deadline = Date.now() + ms;
    for (;;) {
        const alive = [...pids].filter(pidAlive);
        if (alive.length === 0 || Date.now() >= deadline) {
            return alive;
        }
        await sleep(POLL_MS);
    }
}

// Polls `pred()` every 50 ms; resolves with its value, rejects with `what` after `ms`.
export async function waitFor(pred, ms, what, detail = () => '') {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = await pred();
        if (value) {
            return value;
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
        }
        await sleep(50);
    }
}

// Every supervisor not yet known to have exited and every worker PID seen: if the test process
// ends without stopping them (a crash, an uncaught error), the exit hook kills them by PID.
const liveSupervisors = new Set();
const seenWorkerPids = new Set();
process.on('exit', () => {
    for (const child of liveSupervisors) {
        child.kill('SIGKILL');
    }
    for (const pid of seenWorkerPids) {
        if (isLiveWorker(pid)) {
            signalPid(pid, 'SIGKILL');
        }
    }
});

// ---------------------------------------------------------------------------------------------
// Which worker holds a connection

// Inode of the server side of each TCP connection to 127.0.0.1:serverPort, by client port.
function serverSideInodes(serverPort) {
    const inodes = new Map();
    const text = fs.readFileSync('/proc/net/tcp', 'utf8');
    for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) {
            continue;
        }
        const [localIp, localPort] = f[1].split(':');
        const [remoteIp, remotePort] = f[2].split(':');
        if (localIp === '0100007F' && remoteIp === '0100007F' &&
            parseInt(localPort, 16) === serverPort) {
            inodes.set(parseInt(remotePort, 16), f[9]);
        }
    }
    return inodes;
}

// Maps each client port in `clientPorts` to the PID among `pids` whose descriptors hold the
// server side of that connection (undefined when none does). Linux only, through /proc.
export function ownersOf(clientPorts, serverPort, pids) {
    // While other connections come and go, one read of /proc/net/tcp can miss an entry (the
    // kernel finds its place between pages by counting): read again while a client is missing.
    const inodes = serverSideInodes(serverPort);
    for (let i = 0; i < 5 && [...clientPorts].some((p) => !inodes.has(p)); i++) {
        for (const [port, inode] of serverSideInodes(serverPort)) {
            inodes.set(port, inode);
        }
    }
    const ownerOfInode = new Map();
    for (const pid of pids) {
        let fds = [];
        try {
            fds = fs.readdirSync(`/proc/${pid}/fd`);
        } catch {
            continue;
        }
        for (const fd of fds) {
            let link;
            try {
                link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
            } catch {
                continue;
            }
            const m = /^socket:\[(\d+)\]$/.exec(link);
            if (m) {
                ownerOfInode.set(m[1], pid);
            }
        }
    }
    const owners = new Map();
    for (const port of clientPorts) {
        const inode = inodes.get(port);
        owners.set(port, inode === undefined ? undefined : ownerOfInode.get(inode));
    }
    return owners;
}

// ---------------------------------------------------------------------------------------------
// Running programs to completion

// Runs `file args` to completion; resolves with { code, signal, stdout, stderr, ms }. Kills it
// (by its PID) after `ms`, which shows as signal 'timeout'.
export async function runProgram(file, args, ms = 10000) {
    const started = Date.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const exited = new Promise((resolve) => {
        child.on('error', (err) => resolve({ code: null, signal: `spawn error ${err.code}` }));
        child.on('close', (code, signal) => resolve({ code, signal }));
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
    return { ...exit, stdout, stderr, ms: Date.now() - started };
}

// Runs wsctl with `args`; resolves like runProgram plus `json` (stdout parsed, when it parses).
export async function wsctl(args, ms = 10000) {
    const result = await runProgram(wsctlPath(), args, ms);
    try {
        result.json = JSON.parse(result.stdout);
    } catch {
        result.json = undefined;
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Configuration

// INI text from { section: { key: value } }. The admin server listens on a port of its own unless
// the sections say otherwise: fleets started at once must not fight over its default 8001.
export function iniText(sections) {
    const out = [];
    const all = 'admin' in sections ? sections : { ...sections, admin: { listen: '127.0.0.1:0' } };
    for (const [section, keys] of Object.entries(all)) {
        out.push(`[${section}]`);
        for (const [key, value] of Object.entries(keys)) {
            out.push(`${key} = ${value}`);
        }
        out.push('');
    }
    return out.join('\n');
}

// A fresh temp directory for one fleet; the caller removes it (Fleet.stop does).
export function makeTempDir() {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'wsfleet-it-'));
}

// Settings that keep a test fleet quick: reports twice a second, short drains and graces.
export const TEST_WORKERS = {
    count: 2,
    min: 1,
    max: 8,
    hang_timeout: 5,
    kill_grace: 1,
    drain_timeout: 2,
    orphan_grace: 10,
    report_interval: 0.5,
};

// ---------------------------------------------------------------------------------------------
// The fleet

// A running wsfleetd. Use startFleet() to make one and stopFleet() in an after/finally hook.
// Duck-compatible with worker.mjs's Worker where its helpers need it (port, url, track, clients),
// so openWs, echo, canEcho and rawConnect work against a fleet.
export class Fleet {
    constructor(child, dir, runDir, configPath) {
        this.child = child;
        this.pid = child.pid;
        this.dir = dir;
        this.runDir = runDir;
        this.configPath = configPath;
        this.stderrText = '';
        this.port = undefined;
        this.nsockets = undefined;
        this.exit = null; // { code, signal } once the supervisor exited
        this.clients = new Set();
        liveSupervisors.add(child);
        // 'exit', not 'close': the workers share the supervisor's stderr and may outlive it.
        this.exited = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                liveSupervisors.delete(child);
                this.exit = { code, signal };
                resolve(this.exit);
            });
        });
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk) => {
            if (this.stderrText.length < STDERR_CAP) {
                this.stderrText += chunk;
            }
            for (const m of chunk.matchAll(/ started worker pid (\d+)/g)) {
                seenWorkerPids.add(Number(m[1]));
            }
        });
        child.stdout.resume();
    }

    get stderr() {
        return this.stderrText;
    }

    get running() {
        return this.exit === null;
    }

    url(p = '/echo') {
        return `ws://127.0.0.1:${this.port}${p}`;
    }

    track(client) {
        this.clients.add(client);
        return client;
    }

    // Lines of stderr that match `re`.
    lines(re) {
        return this.stderrText.split('\n').filter((line) => re.test(line));
    }

    // Resolves with the lines of stderr that match `re` once there are at least `n`. stderr is
    // read as wsfleetd writes it, so a line may arrive after a wsctl answer (or a client's frame)
    // that the logged event produced: assert on lines through this, not right after such an answer.
    async waitLines(re, n = 1, ms = slow(10000)) {
        return waitFor(() => {
            const got = this.lines(re);
            return got.length >= n ? got : null;
        }, ms, `${n} line(s) matching ${re}`, () => this.tail());
    }

    // Every worker PID this fleet's log or wsctl has named.
    workerPids() {
        const pids = new Set();
        for (const m of this.stderrText.matchAll(/ started worker pid (\d+)/g)) {
            pids.add(Number(m[1]));
        }
        return pids;
    }

    // Lines where AddressSanitizer or UndefinedBehaviorSanitizer reported something (the
    // workers share the supervisor's stderr, so this covers the whole fleet).
    sanitizerReports() {
        return this.lines(/ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/);
    }

    tail(n = 6000) {
        return this.stderrText.slice(-n);
    }

    async waitReady(ms) {
        const readyRe = new RegExp(`wsfleetd\\[${this.pid}\\] info: ready$`, 'm');
        const ready = new Promise((resolve, reject) => {
            const check = () => readyRe.test(this.stderrText);
            if (check()) {
                resolve();
                return;
            }
            const onData = () => {
                if (check()) {
                    this.child.stderr.off('data', onData);
                    resolve();
                }
            };
            this.child.stderr.on('data', onData);
            this.exited.then((exit) => {
                reject(new Error(`wsfleetd exited (${JSON.stringify(exit)}) before ready`));
            });
        });
        try {
            await withTimeout(ready, ms, 'wsfleetd ready line');
        } catch (err) {
            err.message += `; stderr so far:\n${this.stderrText}`;
            throw err;
        }
        const m = new RegExp(`wsfleetd\\[${this.pid}\\] info: listening on 127\\.0\\.0\\.1:(\\d+) ` +
            '\\((\\d+) sockets\\)$', 'm').exec(this.stderrText);
        if (!m) {
            throw new Error(`no "listening on 127.0.0.1:PORT (N sockets)" line:\n${this.stderrText}`);
        }
        this.port = Number(m[1]);
        this.nsockets = Number(m[2]);
    }

    // wsctl against this fleet's run directory.
    ctl(args, ms = 10000) {
        return wsctl(['--run-dir', this.runDir, ...args], ms);
    }

    // `wsctl --json workers`, checked for exit 0; records the PIDs it names.
    async workers() {
        const r = await this.ctl(['--json', 'workers']);
        if (r.code !== 0 || !Array.isArray(r.json)) {
            throw new Error(`wsctl --json workers: exit ${r.code} ${r.signal ?? ''}\n` +
                `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
        }
        for (const w of r.json) {
            if (w.pid > 0) {
                seenWorkerPids.add(w.pid);
            }
        }
        return r.json;
    }

    async status() {
        const r = await this.ctl(['--json', 'status']);
        if (r.code !== 0 || typeof r.json !== 'object') {
            throw new Error(`wsctl --json status: exit ${r.code}\nstdout: ${r.stdout}\n` +
                `stderr: ${r.stderr}`);
        }
        return r.json;
    }

    // Polls `wsctl --json workers` until `pred(list)` is true; resolves with that list. Rejects
    // after `ms` with the last list and the log's tail.
    async waitWorkers(pred, ms, what) {
        const deadline = Date.now() + ms;
        let last;
        for (;;) {
            last = await this.workers();
            if (pred(last)) {
                return last;
            }
            if (Date.now() >= deadline) {
                throw new Error(`timed out after ${ms} ms waiting for ${what}; last workers:\n` +
                    `${JSON.stringify(last)}\nwsfleetd stderr (tail):\n${this.tail()}`);
            }
            await sleep(POLL_MS);
        }
    }

    // Waits until exactly `n` slots are listed, all `running` with distinct PIDs.
    waitRunning(n, ms = FLEET_READY_TIMEOUT_MS) {
        return this.waitWorkers((list) => list.length === n &&
            list.every((w) => w.state === 'running' && w.pid > 0) &&
            new Set(list.map((w) => w.pid)).size === n, ms, `${n} running workers`);
    }

    // Signals the supervisor and resolves with its { code, signal }, or null after `ms`.
    async signalAndWait(signal, ms) {
        if (this.exit) {
            return this.exit;
        }
        signalPid(this.pid, signal);
        return orNull(this.exited, ms);
    }

    // Tears down tracked clients; SIGTERM, wait, SIGKILL after 10 s; then SIGKILLs any worker of
    // this fleet still alive. Removes the temp directory. Resolves with { code, signal, killed,
    // leftovers } (leftovers: worker PIDs that were still alive after the supervisor exited).
    async stop() {
        dropClients(this.clients);
        let killed = false;
        let exit = this.exit;
        if (!exit) {
            exit = await this.signalAndWait('SIGTERM', STOP_KILL_AFTER_MS);
        }
        if (!exit) {
            signalPid(this.pid, 'SIGKILL');
            exit = await this.exited;
            killed = true;
        }
        // The supervisor reaps its workers before it exits: give stragglers a moment, then kill.
        const pids = [...this.workerPids()];
        const leftovers = await waitGone(pids, 1000);
        for (const pid of leftovers) {
            if (isLiveWorker(pid)) {
                signalPid(pid, 'SIGKILL');
            }
        }
        await waitGone(leftovers, 2000);
        fs.rmSync(this.dir, { recursive: true, force: true });
        return { ...exit, killed, leftovers };
    }
}

// Starts wsfleetd with a config made of TEST_WORKERS overridden by `workers`, plus the other
// `sections`, on 127.0.0.1:0 with a run dir in a fresh temp dir (or `runDir`, which stop() leaves
// alone); waits for its ready line and, unless `waitWorkers` is false, for every slot to be
// running. `env` adds environment variables (the workers inherit them). The caller must stop it.
export async function startFleet({
    workers = {}, sections = {}, flags = [], waitWorkers = true,
    readyTimeoutMs = FLEET_READY_TIMEOUT_MS, runDir: givenRunDir, env = {},
} = {}) {
    const fleetd = fleetdPath(); // before the temp dir, which a missing path would leak
    const dir = makeTempDir();
    const runDir = givenRunDir ?? path.join(dir, 'run');
    const configPath = path.join(dir, 'fleet.ini');
    const settings = { ...TEST_WORKERS, ...workers };
    fs.writeFileSync(configPath, iniText({ workers: settings, ...sections }));
    const args = ['--foreground', '-c', configPath, '--listen', '127.0.0.1:0', '--run-dir', runDir,
        ...flags];
    const child = spawn(fleetd, args, {
        stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    const fleet = new Fleet(child, dir, runDir, configPath);
    try {
        await spawned(child, readyTimeoutMs, fleetd);
        await fleet.waitReady(readyTimeoutMs);
        if (waitWorkers) {
            await fleet.waitRunning(settings.count, readyTimeoutMs);
        }
    } catch (err) {
        await fleet.stop();
        throw err;
    }
    return fleet;
}

// Stops `fleet` and returns a message for assert when the supervisor did not exit 0 by itself
// or a worker outlived it.
export async function stopFleet(fleet) {
    if (!fleet) {
        return null;
    }
    const result = await fleet.stop();
    const reports = fleet.sanitizerReports();
    const clean = result.code === 0 && !result.killed && result.leftovers.length === 0 &&
        reports.length === 0;
    if (clean) {
        return null;
    }
    return `wsfleetd did not stop cleanly: ${JSON.stringify(result)}; sanitizer reports: ` +
        `${reports.length}\nstderr (tail):\n${fleet.tail(20000)}`;
}

// ---------------------------------------------------------------------------------------------
// Clients

// One short-lived client: open, echo `text`, close. Resolves with { ok, error, ms, port } and
// never rejects; `ok` means the echo came back and the closing handshake completed.
export function echoOnce(url, text, ms = IO_TIMEOUT_MS * 2) {
    const started = Date.now();
    return new Promise((resolve) => {
        let done = false;
        let echoed = false;
        let port;
        const ws = new WebSocket(url, { handshakeTimeout: ms });
        const finish = (ok, error) => {
            if (done) {
                return;
            }
            done = true;
            clearTimeout(timer);
            resolve({ ok, error, ms: Date.now() - started, port });
        };
        const timer = setTimeout(() => {
            ws.terminate();
            finish(false, `timed out after ${ms} ms (echoed: ${echoed})`);
        }, ms);
        ws.on('open', () => {
            port = ws._socket?.localPort;
            ws.send(text);
        });
        ws.on('message', (data) => {
            if (String(data) !== text) {
                finish(false, `echo mismatch: ${String(data).slice(0, 40)}`);
                ws.terminate();
                return;
            }
            echoed = true;
            ws.close(1000);
        });
        ws.on('unexpected-response', (req, res) => {
            finish(false, `HTTP ${res.statusCode}`);
            req.destroy();
        });
        ws.on('error', (err) => finish(false, err.code ?? err.message));
        ws.on('close', (code) => {
            if (echoed && (code === 1000 || code === 1005)) {
                finish(true, null);
            } else {
                finish(false, `closed with ${code} (echoed: ${echoed})`);
            }
        });
    });
}

// Opens `n` ws clients to `fleet`, at most `concurrency` handshakes at a time; resolves with the
// clients (tracked by the fleet), each with `clientPort` set.
export async function openMany(fleet, n, { concurrency = 50, ms = IO_TIMEOUT_MS * 3 } = {}) {
    const clients = new Array(n);
    let next = 0;
    const openOne = (i) => new Promise((resolve, reject) => {
        const ws = fleet.track(new WebSocket(fleet.url(), { handshakeTimeout: ms }));
        ws.once('open', () => {
            ws.clientPort = ws._socket.localPort;
            clients[i] = ws;
            resolve();
        });
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    const lane = async () => {
        while (next < n) {
            await openOne(next++);
        }
    };
    await withTimeout(Promise.all(Array.from({ length: concurrency }, lane)), ms * 2,
        `opening ${n} ws clients`);
    return clients;
}

// Resolves with { code, at } when `ws` closes, { code: null } when it is still open after `ms`.
export function closeOrTimeout(ws, ms) {
    if (ws.readyState === WebSocket.CLOSED) {
        return Promise.resolve({ code: ws._closeCode, at: Date.now() });
    }
    return new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ code: null, at: null }), ms);
        ws.once('close', (code) => {
            clearTimeout(timer);
            resolve({ code, at: Date.now() });
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Load for the breaker, autoscaler and rebalancing tests

// Starts one short-lived echoOnce client every 1000 / perSecond ms until stop(), which resolves
// with every client's result (see echoOnce) plus `started`, once all of them have finished.
export function steadyTraffic(fleet, perSecond) {
    const results = [];
    const pending = [];
    let n = 0;
    const timer = setInterval(() => {
        const id = n++;
        const started = Date.now();
        pending.push(echoOnce(fleet.url(), `steady ${id}`).then((r) => {
            results.push({ ...r, id, started });
        }));
    }, 1000 / perSecond);
    return {
        results,
        async stop() {
            clearInterval(timer);
            await Promise.all(pending);
            return results;
        },
    };
}

// Adds 1 to `codes` (a Map: close code -> count) for each close of `ws`.
export function countCloses(ws, codes) {
    ws.once('close', (code) => codes.set(code, (codes.get(code) ?? 0) + 1));
    return ws;
}

// `n` clients (opened as by openMany) that reconnect, after a delay drawn from `delayMs`
// ([low, high] ms), when and only when the server closes them with a code of `reconnectOn` (by
// default 1012, Service Restart, as the design asks clients to). Resolves with { codes, open(),
// reconnects, failures, stop() }: codes counts every close by code, open() is how many are open
// now, failures lists reconnects that did not open; stop() stops reconnecting and terminates
// every client.
export async function reconnectingClients(fleet, n, {
    delayMs = [50, 250], concurrency = 100, reconnectOn = [1012],
} = {}) {
    const state = { codes: new Map(), reconnects: 0, failures: [], live: new Set(), stopped: false };
    const timers = new Set();
    const watch = (ws) => {
        state.live.add(ws);
        ws.once('close', (code) => {
            state.live.delete(ws);
            fleet.clients.delete(ws);
            state.codes.set(code, (state.codes.get(code) ?? 0) + 1);
            if (!reconnectOn.includes(code) || state.stopped) {
                return;
            }
            const delay = delayMs[0] + Math.random() * (delayMs[1] - delayMs[0]);
            const timer = setTimeout(() => {
                timers.delete(timer);
                if (!state.stopped) {
                    reconnect();
                }
            }, delay);
            timers.add(timer);
        });
    };
    const reconnect = () => {
        state.reconnects++;
        const ws = fleet.track(new WebSocket(fleet.url(), { handshakeTimeout: IO_TIMEOUT_MS * 3 }));
        let opened = false;
        ws.once('open', () => {
            opened = true;
            watch(ws);
        });
        ws.once('unexpected-response', (req, res) => {
            state.failures.push(`HTTP ${res.statusCode}`);
            req.destroy();
        });
        ws.once('error', (err) => {
            if (!opened) {
                state.failures.push(err.code ?? err.message);
            }
        });
    };
    for (const ws of await openMany(fleet, n, { concurrency })) {
        watch(ws);
    }
    return {
        codes: state.codes,
        failures: state.failures,
        get reconnects() {
            return state.reconnects;
        },
        open() {
            return state.live.size;
        },
        stop() {
            state.stopped = true;
            for (const timer of timers) {
                clearTimeout(timer);
            }
            for (const ws of state.live) {
                ws.terminate();
                fleet.clients.delete(ws);
            }
        },
    };
}
