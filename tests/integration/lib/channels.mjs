// A wsfleet.v1 client for integration tests: sends commands, matches replies by id, collects
// pushes, and keeps every frame it received (to check how objects share frames).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IO_TIMEOUT_MS, WebSocket, withTimeout } from './worker.mjs';

export const PROTOCOL = 'wsfleet.v1';

// Writes a channels INI file in a fresh temporary directory; returns its path.
export function channelsConfig(text) {
    const dir = mkdtempSync(path.join(tmpdir(), 'wsf-ch-'));
    const file = path.join(dir, 'channels.ini');
    writeFileSync(file, text);
    return file;
}

export class ChClient {
    constructor(ws) {
        this.ws = ws;
        this.frames = []; // every text frame, as received
        this.objects = []; // every object, in order
        this.pushes = []; // {channel, pub}
        this.replies = new Map(); // id -> object
        this.waiters = [];
        this.nextId = 1;
        this.closed = new Promise((resolve) => {
            ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        });
        ws.on('message', (data, isBinary) => {
            const text = data.toString();
            this.frames.push(text);
            for (const line of text.split('\n')) {
                if (line.trim() === '') {
                    continue;
                }
                const obj = JSON.parse(line);
                this.objects.push(obj);
                if (obj.push?.pub) {
                    this.pushes.push({ channel: obj.push.channel, pub: obj.push.pub });
                } else if (obj.id !== undefined) {
                    this.replies.set(obj.id, obj);
                }
            }
            this.wake();
        });
    }

    static async open(url, { protocols = [PROTOCOL], worker = null } = {}) {
        const ws = new WebSocket(url, protocols, { handshakeTimeout: IO_TIMEOUT_MS });
        if (worker) {
            worker.track(ws);
        }
        await withTimeout(new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
        }), IO_TIMEOUT_MS * 2, `open ${url}`);
        return new ChClient(ws);
    }

    wake() {
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting) {
            if (!w.check()) {
                this.waiters.push(w);
            }
        }
    }

    // Resolves with pred's first truthy value, re-checked on every frame.
    until(pred, what, ms = IO_TIMEOUT_MS * 2) {
        return withTimeout(new Promise((resolve) => {
            const w = {
                check: () => {
                    const v = pred();
                    if (v) {
                        resolve(v);
                        return true;
                    }
                    return false;
                },
            };
            if (!w.check()) {
                this.waiters.push(w);
            }
        }), ms, what);
    }

    sendRaw(text) {
        this.ws.send(text);
    }

    // Sends {id, [op]: body}; resolves with the reply object (a reply or an error).
    async cmd(op, body, id = this.nextId++) {
        this.ws.send(JSON.stringify({ id, [op]: body }));
        return this.until(() => this.replies.get(id), `reply to ${op} ${id}`);
    }

    // Resolves once `n` pushes of `channel` arrived; returns their pubs.
    async pubsOf(channel, n, ms) {
        return this.until(() => {
            const got = this.pushes.filter((p) => p.channel === channel).map((p) => p.pub);
            return got.length >= n ? got : null;
        }, `${n} pushes on ${channel}`, ms);
    }

    close() {
        this.ws.terminate();
    }
}
