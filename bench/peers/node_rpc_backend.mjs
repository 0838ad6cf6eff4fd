// The rpc benchmark's application backend: answers wsf.app.rpc in a queue group with the data it
// got ({"result":{"data":D}}), like a thin real application. Prints "ready" once subscribed.
//   node node_rpc_backend.mjs NATS_URL     (nats://TOKEN@HOST:PORT)
import { connect } from 'nats';

const u = new URL(process.argv[2]);
const nc = await connect({ servers: `${u.hostname}:${u.port}`, token: decodeURIComponent(u.username) });
const enc = new TextEncoder();
const dec = new TextDecoder();
const sub = nc.subscribe('wsf.app.rpc', { queue: 'bench' });
await nc.flush();
console.log('ready');
for await (const m of sub) {
    const ev = JSON.parse(dec.decode(m.data));
    m.respond(enc.encode(JSON.stringify({ result: { data: ev.data ?? null } })));
}
