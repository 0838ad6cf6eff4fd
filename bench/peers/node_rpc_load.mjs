// The rpc benchmark's clients: CONNS wsfleet.v1 connections to URL sending RATE rpc/s in all,
// evenly paced, for SECONDS; or, with --nats URL, the same request through NATS straight to the
// backend (the floor: what an rpc costs without the worker). Prints one JSON line:
// {"sent","answered","errors","p50_us","p99_us"}. With --echo, plain messages to /echo instead
// (what the same clients cost the worker without rpc).
//   node node_rpc_load.mjs ws://127.0.0.1:PORT/channels CONNS RATE SECONDS
//   node node_rpc_load.mjs --nats nats://TOKEN@HOST:PORT 1 RATE SECONDS
//   node node_rpc_load.mjs --echo ws://127.0.0.1:PORT/echo CONNS RATE SECONDS
// With --closed (rpc and --echo), RATE is instead how many requests each connection keeps in
// flight: a new one leaves as soon as one is answered, for SECONDS (as many as the setup
// sustains); the JSON line then also has "per_s", the answers per second.
import { connect } from 'nats';
import WebSocket from 'ws';

const [target, connsArg, rateArg, secondsArg] =
    process.argv.slice(2).filter((a) => a !== '--nats' && a !== '--echo' && a !== '--closed');
const closed = process.argv.includes('--closed');
const viaNats = process.argv.includes('--nats');
const echo = process.argv.includes('--echo');
const conns = Number(connsArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const rtts = [];
let sent = 0;
let answered = 0;
let errors = 0;

function finish() {
    rtts.sort((a, b) => a - b);
    const q = (p) => (rtts.length ? Math.round(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]) : 0);
    const extra = closed ? { per_s: Math.round(answered / seconds) } : {};
    console.log(JSON.stringify({ sent, answered, errors, p50_us: q(0.5), p99_us: q(0.99), ...extra }));
    process.exit(0);
}

// Closed loop: `rate` requests in flight on each connection; next(k) is called once per answer
// on connection k and sends the next one until SECONDS are over.
let closedEnd = 0;
function closedLoop(send) {
    closedEnd = Date.now() + seconds * 1000;
    for (let k = 0; k < conns; k++) {
        for (let j = 0; j < rate; j++) {
            send(sent, k);
            sent++;
        }
    }
    setTimeout(() => setTimeout(finish, 500), seconds * 1000);
}
function next(send, k) {
    if (closed && Date.now() < closedEnd) {
        send(sent, k);
        sent++;
    }
}

function pace(send) {
    const start = process.hrtime.bigint();
    const total = Math.round(rate * seconds);
    const tick = () => {
        const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        const due = Math.min(total, Math.floor(elapsed * rate));
        while (sent < due) {
            send(sent);
            sent++;
        }
        if (sent < total) {
            setTimeout(tick, 1);
        } else {
            setTimeout(finish, 2000); // the last answers
        }
    };
    tick();
}

if (viaNats) {
    const u = new URL(target);
    const nc = await connect({ servers: `${u.hostname}:${u.port}`, token: decodeURIComponent(u.username) });
    const enc = new TextEncoder();
    pace((i) => {
        const t0 = process.hrtime.bigint();
        nc.request('wsf.app.rpc', enc.encode(JSON.stringify({ client: 'c', user: '', method: 'echo', data: i })),
            { timeout: 1000 })
            .then(() => {
                answered++;
                rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
            }, () => {
                errors++;
            });
    });
} else if (echo) {
    const sockets = [];
    const sentAt = [];
    await Promise.all(Array.from({ length: conns }, (_, k) => new Promise((resolve, reject) => {
        const ws = new WebSocket(target);
        ws.on('error', reject);
        ws.on('open', resolve);
        ws.on('message', () => {
            if (closed && Date.now() >= closedEnd) {
                return; // after the end: not counted
            }
            answered++;
            rtts.push(Number(process.hrtime.bigint() - sentAt[k].shift()) / 1000);
            next(sendEcho, k);
        });
        sockets.push(ws);
        sentAt.push([]);
    })));
    const body = 'x'.repeat(40);
    function sendEcho(i, k = i % conns) {
        sentAt[k].push(process.hrtime.bigint());
        sockets[k].send(body);
    }
    (closed ? closedLoop : pace)(sendEcho);
} else {
    const sockets = [];
    const pending = new Map();
    await Promise.all(Array.from({ length: conns }, (_, k) => new Promise((resolve, reject) => {
        const ws = new WebSocket(target, ['wsfleet.v1']);
        ws.on('error', reject);
        ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: {} })));
        ws.on('message', (data) => {
            for (const line of data.toString().split('\n')) {
                if (!line) {
                    continue;
                }
                const o = JSON.parse(line);
                if (o.id === 1) {
                    resolve();
                    continue;
                }
                const t0 = pending.get(o.id);
                if (t0 === undefined) {
                    continue;
                }
                pending.delete(o.id);
                if (closed && Date.now() >= closedEnd) {
                    continue; // after the end: not counted
                }
                if (o.rpc) {
                    answered++;
                    rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
                } else {
                    errors++;
                }
                next(sendRpc, k);
            }
        });
        sockets.push(ws);
    })));
    function sendRpc(i, k = i % conns) {
        const id = i + 2;
        pending.set(id, process.hrtime.bigint());
        sockets[k].send(JSON.stringify({ id, rpc: { method: 'echo', data: i } }));
    }
    (closed ? closedLoop : pace)(sendRpc);
}
