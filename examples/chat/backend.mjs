// The chat example's application: answers wsfleet's requests over NATS and serves the page.
//
//   node backend.mjs [--run-dir DIR | --url NATS_URL] [--http HOST:PORT] [--ws URL]
//
// The NATS URL (with the fleet's token) is read from DIR/nats.url (default ./run, where
// `make run` puts it) unless given. The page is served on --http (127.0.0.1:8090) and connects to
// --ws (ws://127.0.0.1:8080/channels).
//
//   wsf.app.connect     {"data":{"name":N}} -> the user N (a token's user wins), joined to
//                       chat:lobby, with the room list in the connect reply's data
//   wsf.app.rpc         "members" -> {"members":[...]}; "whisper" {"to","text"} -> a push to
//                       every connection of that user (wsf.user.<to>); others -> error 104
//   wsf.app.disconnect  keeps the member list
// Members live in this process: run one copy (several copies in the queue group would each see
// only part of the connects; keep such state in a shared store then).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, JSONCodec } from 'nats';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_JS = path.join(HERE, '..', '..', 'web', 'client', 'wsfleet.js');
const ROOMS = ['chat:lobby', 'chat:random', 'chat:help'];
const NAME = /^[A-Za-z0-9_-]{1,32}$/;
const jc = JSONCodec();

function args(argv) {
    const o = { runDir: 'run', url: null, http: '127.0.0.1:8090', ws: 'ws://127.0.0.1:8080/channels' };
    for (let i = 0; i + 1 < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
        if (!(key in o)) {
            throw new Error(`unknown option ${argv[i]}`);
        }
        o[key] = argv[i + 1];
    }
    return o;
}

// nats://TOKEN@host:port[,nats://...] as the `nats` package takes it.
function natsOptions(url) {
    const list = url.split(',').map((u) => new URL(u.trim()));
    const first = list[0];
    const opts = { servers: list.map((u) => `${u.hostname}:${u.port || 4222}`), maxReconnectAttempts: -1 };
    if (first.username && first.password) {
        opts.user = decodeURIComponent(first.username);
        opts.pass = decodeURIComponent(first.password);
    } else if (first.username) {
        opts.token = decodeURIComponent(first.username);
    }
    return opts;
}

function serve(nc, subject, handler) {
    const sub = nc.subscribe(subject, { queue: 'chat' });
    (async () => {
        for await (const m of sub) {
            let reply;
            try {
                reply = handler(jc.decode(m.data));
            } catch (err) {
                reply = { error: { code: 100, message: String(err.message ?? err) } };
            }
            if (reply !== undefined && m.reply) {
                m.respond(jc.encode(reply));
            }
        }
    })();
}

// Starts the application; resolves with {nc, http, close()}.
export async function startChat({ url, http = '127.0.0.1:8090', ws = 'ws://127.0.0.1:8080/channels' }) {
    const nc = await connect(natsOptions(url));
    const members = new Map(); // user -> connections

    serve(nc, 'wsf.app.connect', (ev) => {
        const name = ev.user || ev.data?.name;
        if (typeof name !== 'string' || !NAME.test(name)) {
            return { error: { code: 4400, message: 'pick a name: 1 to 32 of A-Z a-z 0-9 _ -' } };
        }
        members.set(name, (members.get(name) ?? 0) + 1);
        return { result: { user: name, channels: ['chat:lobby'], data: { rooms: ROOMS } } };
    });
    serve(nc, 'wsf.app.disconnect', (ev) => {
        const n = (members.get(ev.user) ?? 0) - 1;
        if (n > 0) {
            members.set(ev.user, n);
        } else {
            members.delete(ev.user);
        }
    });
    serve(nc, 'wsf.app.rpc', (ev) => {
        if (ev.method === 'members') {
            return { result: { data: { members: [...members.keys()].sort() } } };
        }
        if (ev.method === 'whisper') {
            const to = ev.data?.to;
            if (typeof to !== 'string' || !members.has(to)) {
                return { error: { code: 4404, message: 'no such member' } };
            }
            nc.publish(`wsf.user.${to}`, jc.encode({
                data: { whisper: { from: ev.user, text: String(ev.data?.text ?? '') } },
            }));
            return { result: { data: { sent: true } } };
        }
        return { error: { code: 104, message: 'method not found' } };
    });
    await nc.flush();

    const files = {
        '/': ['index.html', 'text/html; charset=utf-8'],
        '/index.html': ['index.html', 'text/html; charset=utf-8'],
        '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
        '/style.css': ['style.css', 'text/css; charset=utf-8'],
    };
    const server = createServer((req, res) => {
        const headers = {
            'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${new URL(ws).origin}`,
            'X-Content-Type-Options': 'nosniff',
        };
        const p = new URL(req.url, 'http://x').pathname;
        try {
            if (p === '/config.json') {
                res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
                res.end(JSON.stringify({ ws }));
            } else if (p === '/wsfleet.js') {
                const body = readFileSync(CLIENT_JS);
                res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' });
                res.end(body);
            } else if (p === '/favicon.ico') {
                res.writeHead(204, headers);
                res.end();
            } else if (files[p]) {
                const body = readFileSync(path.join(HERE, 'public', files[p][0]));
                res.writeHead(200, { ...headers, 'Content-Type': files[p][1] });
                res.end(body);
            } else {
                res.writeHead(404, headers);
                res.end('not found\n');
            }
        } catch {
            res.writeHead(404, headers);
            res.end('not found\n');
        }
    });
    const [host, port] = [http.slice(0, http.lastIndexOf(':')), Number(http.slice(http.lastIndexOf(':') + 1))];
    await new Promise((resolve) => server.listen(port, host, resolve));
    return {
        nc,
        http: server,
        port: server.address().port,
        async close() {
            server.close();
            await nc.close();
        },
    };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const o = args(process.argv.slice(2));
    const url = o.url ?? readFileSync(path.join(o.runDir, 'nats.url'), 'utf8').trim();
    const app = await startChat({ url, http: o.http, ws: o.ws });
    console.log(`chat: page on http://${o.http.replace(/:\d+$/, '')}:${app.port}/ (fleet ${o.ws})`);
    const stop = async () => {
        await app.close();
        process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}
