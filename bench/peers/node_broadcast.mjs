// Comparison peer for bench/channels: a Node `ws` server on ws://127.0.0.1:PORT/ that broadcasts
// one frame to every connected client RATE times a second. The publisher is a timer in this
// process; each publication is the same text wsworker pushes,
// {"push":{"channel":"bench:feed","pub":{"offset":N,"data":{"t":NS}}}}, with NS the publication's
// CLOCK_MONOTONIC time (process.hrtime), built once into a Buffer and sent to each client.
// The timer starts once START clients are connected (or 30 s after listening): broadcasting while
// thousands of clients still connect starves the handshakes in Node's single thread.
// Usage: node node_broadcast.mjs PORT RATE [START]  (PORT 0 picks a free port; the ready line
// names it)
import { WebSocketServer } from 'ws';

const port = Number.parseInt(process.argv[2] ?? '0', 10);
const rate = Number.parseFloat(process.argv[3] ?? '100');
const startAfter = Number.parseInt(process.argv[4] ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !(rate > 0)) {
    console.error('usage: node node_broadcast.mjs PORT RATE');
    process.exit(100);
}

// Defaults as a user would deploy them: no compression, the library's own limits.
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
let started = false;
wss.on('connection', (ws) => {
    ws.on('error', () => {});
    if (!started && wss.clients.size >= startAfter) {
        start();
    }
});

function start() {
    if (started) {
        return;
    }
    started = true;
    next = process.hrtime.bigint() + periodNs;
    tick();
}

let offset = 0;
const periodNs = BigInt(Math.round(1e9 / rate));
let next = process.hrtime.bigint() + periodNs;

// setTimeout alone drifts (1 ms granularity, plus the broadcast's own time): aim at absolute
// times, and never burst to catch up.
function tick() {
    const now = process.hrtime.bigint();
    if (now >= next) {
        offset += 1;
        const text = `{"push":{"channel":"bench:feed","pub":{"offset":${offset},"data":{"t":${now}}}}}`;
        const buf = Buffer.from(text);
        for (const client of wss.clients) {
            client.send(buf, { binary: false });
        }
        next += periodNs;
        if (next < now) {
            next = now + periodNs;
        }
    }
    const waitMs = Number(next - process.hrtime.bigint()) / 1e6;
    setTimeout(tick, Math.max(0, Math.floor(waitMs)));
}

wss.on('listening', () => {
    const addr = wss.address();
    console.error(`node_broadcast[${process.pid}] listening on ${addr.address}:${addr.port}`);
    console.error(`node_broadcast[${process.pid}] ready`);
    if (startAfter <= 0) {
        start();
    } else {
        setTimeout(start, 30000);
    }
});

wss.on('error', (err) => {
    console.error(`node_broadcast[${process.pid}] error: ${err.message}`);
    process.exit(100);
});
