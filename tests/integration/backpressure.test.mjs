// Backpressure on /echo: a client that pipelines far more than max_backlog while reading slowly is
// slowed down (the worker stops reading it while its unsent output is past the read-pause mark)
// and gets every echo; a client that reads nothing at all is still closed with 1008.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, echo, openWs, slow, startWorker, stopWorker, wsClosed } from './lib/worker.mjs';
import { waitFor } from './lib/fleet.mjs';

const MAX_BACKLOG = 256 * 1024;
const MESSAGE = 16 * 1024;
// Far more than max_backlog and than what the loopback socket buffers of both directions hold,
// so that without the pause the backlog would pass the cap.
const TOTAL = 64 * 1024 * 1024;
const CLOSE_TIMEOUT_S = 3;

describe('echo backpressure', () => {
    let worker;

    before(async () => {
        worker = await startWorker({
            flags: ['--max-backlog', String(MAX_BACKLOG), '--msg-rate', '0',
                '--close-timeout', String(CLOSE_TIMEOUT_S)],
        });
    });

    after(async () => {
        const problem = await stopWorker(worker);
        assert.equal(problem, null, problem ?? '');
    });

    test('a client pipelining far ahead while reading slowly gets every echo', async (t) => {
        const ws = await openWs(worker);
        const count = TOTAL / MESSAGE;
        let received = 0;
        let bad = null;
        let closed = null;
        const done = new Promise((resolve) => {
            ws.on('message', (data) => {
                // Each echo must be the next message, whole.
                if (bad === null && (data.length !== MESSAGE || data.readUInt32LE(0) !== received)) {
                    bad = `echo ${received}: ${data.length} bytes, tag ${data.readUInt32LE(0)}`;
                }
                received++;
                if (received === count || bad !== null) {
                    resolve();
                }
            });
            ws.on('close', (code) => {
                closed = code;
                resolve();
            });
        });
        // Read in short bursts: the socket is paused, and let go for one turn of the event loop
        // every few milliseconds, so the client reads far slower than it writes.
        ws._socket.pause();
        let reading = true;
        const reader = setInterval(() => {
            ws._socket.resume();
            setImmediate(() => {
                if (reading) {
                    ws._socket.pause();
                }
            });
        }, 2);
        let peakBuffered = 0;
        for (let i = 0; i < count; i++) {
            const m = Buffer.alloc(MESSAGE, 0x61 + (i % 26));
            m.writeUInt32LE(i, 0);
            ws.send(m);
            peakBuffered = Math.max(peakBuffered, ws.bufferedAmount);
        }
        const watch = setInterval(() => {
            peakBuffered = Math.max(peakBuffered, ws.bufferedAmount);
        }, 10);
        try {
            await waitFor(() => received === count || bad !== null || closed !== null, slow(60000),
                'every echo', () => `${received} of ${count} echoes`);
            await done;
        } finally {
            reading = false;
            clearInterval(reader);
            clearInterval(watch);
            ws._socket.resume();
        }
        t.diagnostic(`${count} messages of ${MESSAGE} B echoed; client send buffer peaked at ${peakBuffered} B`);
        assert.equal(bad, null, bad ?? '');
        assert.equal(closed, null, `closed with ${closed} after ${received} of ${count} echoes`);
        assert.equal(received, count);
        assert.equal(worker.lines(/output backlog/).length, 0, worker.stderrText);
        assert.equal((await echo(ws, 'still open')).data.toString(), 'still open');
        ws.close();
    });

    test('a client that never reads is closed with 1008', async () => {
        const ws = await openWs(worker);
        ws._socket.pause();
        const chunk = Buffer.alloc(MESSAGE, 0x5a);
        for (let sent = 0; sent < TOTAL; sent += MESSAGE) {
            ws.send(chunk);
        }
        // The worker stops reading at the pause mark; output that then stays untaken for the close
        // timeout closes the connection with the echo service's backlog code.
        await waitFor(() => worker.lines(/output backlog, closing with 1008/).length === 1,
            slow(30000), 'the backlog close', () => worker.stderrText);
        const closed = wsClosed(ws, slow(30000));
        ws._socket.resume();
        const { code } = await closed;
        // The close frame follows the unsent echoes; a client that starts reading within the close
        // timeout gets it, otherwise the worker drops the connection (1006 here).
        assert.ok(code === 1008 || code === 1006, `closed with ${code}`);
        const fresh = await openWs(worker);
        assert.equal((await echo(fresh, 'after')).data.toString(), 'after');
        fresh.close();
    });
});
