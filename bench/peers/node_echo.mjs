// Comparison peer for bench/run: a Node `ws` echo server on ws://127.0.0.1:PORT/echo.
// Usage: node node_echo.mjs PORT   (PORT 0 picks a free port; the ready line names it)
import { WebSocketServer } from 'ws';

const port = Number.parseInt(process.argv[2] ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node node_echo.mjs PORT');
    process.exit(100);
}

// Defaults as a user would deploy them: no compression, the library's own limits.
const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/echo', perMessageDeflate: false });

wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
        ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {});
});

wss.on('listening', () => {
    const addr = wss.address();
    console.error(`node_echo[${process.pid}] listening on ${addr.address}:${addr.port}`);
    console.error(`node_echo[${process.pid}] ready`);
});

wss.on('error', (err) => {
    console.error(`node_echo[${process.pid}] error: ${err.message}`);
    process.exit(100);
});

const stop = () => {
    for (const ws of wss.clients) {
        ws.terminate();
    }
    wss.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
