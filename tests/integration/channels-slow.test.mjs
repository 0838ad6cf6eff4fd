// Slow subscribers on /channels: 20 subscribers that never read, beside a few hundred that do, on
// one worker with a small --max-backlog. Each slow one is closed with 4001 once its unsent output
// passes max_backlog, the others receive every publication in order, and the worker's peak
// resident memory stays within a bound set by max_backlog, not by what was published.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ChClient, PROTOCOL, channelsConfig } from './lib/channels.mjs';
import { startNats } from './lib/nats.mjs';
import {
    IO_TIMEOUT_MS, WebSocket, sleep, startWorker, stopWorker, withTimeout,
} from './lib/worker.mjs';

const SLOW = 20;
const NORMAL = 200;
const MAX_BACKLOG = 64 * 1024;
const PUB_BYTES = 4096;
// At least 11.7 MiB to every subscriber: kept for the slow ones, that would be far past the bound
// below (kernel socket buffers take a few MiB of it per connection).
const MIN_PUBS = 3000;
const MAX_PUBS = 20000; // a bound on the run: the slow ones are all closed long before
const MIB = 1024 * 1024;

let nats;
let w;

before(async () => {
    // Under AddressSanitizer freed memory waits in a quarantine, which would count as resident:
    // without one, resident memory means what it does in a release build (others ignore this).
    const asan = process.env.ASAN_OPTIONS;
    const noQuarantine = 'quarantine_size_mb=0:thread_local_quarantine_size_kb=0';
    process.env.ASAN_OPTIONS = asan ? `${asan}:${noQuarantine}` : noQuarantine;
    nats = await startNats();
    w = await startWorker({
        flags: ['--nats-url', nats.url,
            '--channels-config', channelsConfig('[channels]\npublish = client\n'),
            '--max-backlog', String(MAX_BACKLOG), '--close-timeout', '1', '--msg-rate', '0'],
    });
});

after(async () => {
    const problem = await stopWorker(w);
    await nats?.stop();
    assert.equal(problem, null);
});

function statusKiB(pid, key) {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    assert.ok(m, `${key} of ${pid}`);
    return Number(m[1]);
}

// A subscriber that reads everything and checks offsets as they come, without keeping the data.
async function counting(url, channel) {
    const ws = new WebSocket(url, [PROTOCOL], { handshakeTimeout: IO_TIMEOUT_MS });
    w.track(ws);
    await withTimeout(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), IO_TIMEOUT_MS * 2, 'open');
    const sub = { ws, count: 0, last: 0, disorder: 0, replies: 0, code: null };
    ws.on('close', (code) => {
        sub.code = code;
    });
    ws.on('message', (data) => {
        for (const line of data.toString().split('\n')) {
            const off = /^\{"push":\{"channel":"[^"]*","pub":\{"offset":(\d+)/.exec(line);
            if (off) {
                const o = Number(off[1]);
                if (o <= sub.last) {
                    sub.disorder++;
                }
                sub.last = o;
                sub.count++;
            } else if (line.startsWith('{"id":')) {
                sub.replies++;
            }
        }
    });
    ws.send(`{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"${channel}"}}`);
    return sub;
}

function closes4001() {
    return w.stderr.split('\n').filter((l) => l.includes('closing with 4001')).length;
}

test('never-reading subscribers get 4001, the rest keep up, memory stays bounded', async () => {
    const url = w.url('/channels');
    const channel = 'slowfan';
    const normal = [];
    for (let i = 0; i < NORMAL; i++) {
        normal.push(await counting(url, channel));
    }
    const slow = [];
    for (let i = 0; i < SLOW; i++) {
        const c = await ChClient.open(url, { worker: w });
        assert.ok((await c.cmd('connect', {})).connect);
        assert.ok((await c.cmd('subscribe', { channel })).subscribe);
        c.ws._socket.pause(); // never reads again until the end
        slow.push(c);
    }
    const pub = await ChClient.open(url, { worker: w });
    assert.ok((await pub.cmd('connect', {})).connect);
    const start = Date.now();
    while (normal.some((s) => s.replies < 2) && Date.now() - start < 30000) {
        await sleep(20);
    }
    assert.ok(normal.every((s) => s.replies === 2), 'every normal subscriber subscribed');
    const baseKiB = statusKiB(w.pid, 'VmRSS');

    // Publish at a steady pace (50 per 50 ms at most) until the worker closed every slow one, and
    // at least MIN_PUBS.
    const data = 'x'.repeat(PUB_BYTES);
    let n = 0;
    let lastOffset = 0;
    while ((closes4001() < SLOW || n < MIN_PUBS) && n < MAX_PUBS) {
        const batch = [];
        for (let i = 0; i < 50; i++) {
            batch.push(pub.cmd('publish', { channel, data }));
        }
        let replies;
        try {
            replies = await Promise.all(batch);
        } catch (err) {
            console.log(w.stderr.slice(-3000));
            throw err;
        }
        for (const r of replies) {
            assert.ok(r.publish, JSON.stringify(r));
            lastOffset = Math.max(lastOffset, r.publish.offset);
        }
        n += 50;
        await sleep(50);
    }
    assert.equal(closes4001(), SLOW, `after ${n} publications`);

    const waitStart = Date.now();
    while (normal.some((s) => s.last < lastOffset) && Date.now() - waitStart < 120000) {
        await sleep(50);
    }
    for (const s of normal) {
        assert.equal(s.count, n, 'a normal subscriber received every publication');
        assert.equal(s.disorder, 0);
        assert.equal(s.code, null, 'a normal subscriber stayed connected');
    }

    // The peak: the baseline, plus what at most max_backlog of output per connection can hold
    // (a buffer grows by doubling, so twice that), plus 64 MiB for the allocator and NATS. Without
    // the bound the slow ones alone would hold everything published since they stopped reading.
    const peakKiB = statusKiB(w.pid, 'VmHWM');
    const boundKiB = baseKiB + ((SLOW + NORMAL + 1) * 2 * MAX_BACKLOG + 64 * MIB) / 1024;
    console.log(`publications ${n} (${(n * PUB_BYTES / MIB).toFixed(1)} MiB each), ` +
        `VmRSS before ${baseKiB} KiB, VmHWM ${peakKiB} KiB, bound ${Math.round(boundKiB)} KiB`);
    assert.ok(peakKiB < boundKiB, `peak ${peakKiB} KiB over ${boundKiB} KiB`);

    for (const c of slow) {
        c.ws._socket.resume();
        const { code } = await c.closed;
        assert.ok(code === 4001 || code === 1006, `slow subscriber closed with ${code}`);
        assert.ok(c.pushes.length < n);
    }
    for (const s of normal) {
        s.ws.terminate();
    }
    pub.close();
});
