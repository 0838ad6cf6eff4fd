// Comparison peer for bench/run and bench/tls: a Node `ws` echo server on ws://127.0.0.1:PORT/echo,
// or wss:// (Node `https`) with --tls, optionally with permessage-deflate.
// Usage: node node_echo.mjs PORT [--tls CERT KEY] [--deflate MIN_SIZE]
//   PORT 0 picks a free port; the ready line names it. --deflate turns perMessageDeflate on with
//   no context takeover either way and messages under MIN_SIZE bytes sent uncompressed (the
//   settings of wsworker --deflate on with its defaults).
import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

function usage() {
    console.error('usage: node node_echo.mjs PORT [--tls CERT KEY] [--deflate MIN_SIZE]');
    process.exit(100);
}

const args = process.argv.slice(2);
const port = Number.parseInt(args.shift() ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
    usage();
}
let tls = null;
let deflate = false;
while (args.length > 0) {
    const a = args.shift();
    if (a === '--tls' && args.length >= 2) {
        tls = { cert: fs.readFileSync(args.shift()), key: fs.readFileSync(args.shift()) };
    } else if (a === '--deflate' && args.length >= 1) {
        const min = Number.parseInt(args.shift(), 10);
        if (!Number.isInteger(min) || min < 0) {
            usage();
        }
        deflate = {
            serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: min,
        };
    } else {
        usage();
    }
}

// Defaults as a user would deploy them otherwise: the library's own limits.
let server = null;
let wss;
if (tls) {
    server = https.createServer({ ...tls, minVersion: 'TLSv1.2' });
    wss = new WebSocketServer({ server, path: '/echo', perMessageDeflate: deflate });
} else {
    wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/echo', perMessageDeflate: deflate });
}

wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
        ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {});
});

const onListening = (addr) => {
    console.error(`node_echo[${process.pid}] listening on ${addr.address}:${addr.port}`);
    console.error(`node_echo[${process.pid}] ready`);
};
const onError = (err) => {
    console.error(`node_echo[${process.pid}] error: ${err.message}`);
    process.exit(100);
};
if (server) {
    server.on('error', onError);
    server.listen(port, '127.0.0.1', () => onListening(server.address()));
} else {
    wss.on('listening', () => onListening(wss.address()));
    wss.on('error', onError);
}

const stop = () => {
    for (const ws of wss.clients) {
        ws.terminate();
    }
    wss.close(() => (server ? server.close(() => process.exit(0)) : process.exit(0)));
    server?.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
