// The browser client (web/client/wsfleet.js) in Node, with the ws package as its WebSocket, against
// a real fleet with channels and token checks: frames of several objects, the backoff's delays
// (an injected random, so every delay is known), which close codes bring it back, and commands in
// flight rejecting when their connection dies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { makeTempDir, signalPid, stopFleet } from '../integration/lib/fleet.mjs';
import {
    backoffDelay, Client, parseFrame, shouldReconnect, WsfleetError,
} from '../../web/client/wsfleet.js';
import { ctlPublish, ownerOf, startChannelsFleet, WAIT_MS, waitFor } from './lib.mjs';

const secretDir = makeTempDir();
const secret = randomBytes(32).toString('hex');
const secretFile = path.join(secretDir, 'secret');
fs.writeFileSync(secretFile, secret, { mode: 0o600 });

const b64u = (s) => Buffer.from(s).toString('base64url');

// An HS256 token for `sub` that expires `ttl` seconds from now (negative: already expired).
function token(sub, ttl = 3600) {
    const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.` +
        `${b64u(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + ttl }))}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

// A client that records its states, disconnects and errors.
function client(fleetOrUrls, options = {}) {
    const urls = typeof fleetOrUrls === 'object' && !Array.isArray(fleetOrUrls) ?
        fleetOrUrls.url('/channels') : fleetOrUrls;
    const c = new Client(urls, { WebSocket, token: token('alice'), ...options });
    c.log = { states: [], disconnects: [], errors: [] };
    c.on('state', (s) => c.log.states.push(s));
    c.on('disconnect', (d) => c.log.disconnects.push(d));
    c.on('error', (e) => c.log.errors.push(e));
    return c;
}

// A loopback TCP server that resets every connection: a fleet that is not there.
async function deadServer() {
    const server = net.createServer((s) => s.destroy());
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `ws://127.0.0.1:${server.address().port}/channels` };
}

describe('pure parts', () => {
    test('a frame of several objects, CRLF and blank lines', () => {
        assert.deepEqual(parseFrame('{"a":1}\n{"b":2}\r\n\n  \n{"c":[3]}\r\n'),
            [{ a: 1 }, { b: 2 }, { c: [3] }]);
        assert.deepEqual(parseFrame('{"id":1}'), [{ id: 1 }]);
        assert.throws(() => parseFrame('{"a":1}\n{oops'));
    });

    test('full-jitter backoff: random() times a cap doubling from min to max', () => {
        const b = { min: 500, max: 20000 };
        const caps = [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000];
        caps.forEach((cap, attempt) => {
            assert.equal(backoffDelay(attempt, b, () => 0), 0);
            assert.equal(backoffDelay(attempt, b, () => 0.5), cap / 2);
            const top = backoffDelay(attempt, b, () => 1 - 2 ** -52);
            assert.ok(top < cap && top >= cap - 1, `${attempt}: ${top}`);
        });
        assert.equal(backoffDelay(10000, b, () => 0.5), 10000); // no overflow
        assert.equal(backoffDelay(0, undefined, () => 0.5), 250); // the defaults
    });

    test('close codes that bring the client back, and those that do not', () => {
        for (const code of [1001, 1006, 1011, 1012, 1013, 4001, 4429]) {
            assert.equal(shouldReconnect(code), true, String(code));
        }
        assert.equal(shouldReconnect(4002), false);
        assert.equal(shouldReconnect(4002, true), true);
        for (const code of [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 1014, 4000, 4003,
            4400, 4401, 4403, 4404, 4499]) {
            assert.equal(shouldReconnect(code), false, String(code));
        }
    });
});

describe('against a fleet', () => {
    let fleet;
    const clients = [];
    const servers = [];
    before(async () => {
        fleet = await startChannelsFleet({ auth: { hmac_secret_file: secretFile, required: 'yes' } });
        await ctlPublish(fleet, 'app:warmup', 0);
    });
    after(async () => {
        for (const c of clients) {
            c.close();
        }
        for (const s of servers) {
            s.close();
        }
        const msg = await stopFleet(fleet);
        fs.rmSync(secretDir, { recursive: true, force: true });
        assert.equal(msg, null, msg ?? '');
    });
    const track = (c) => {
        clients.push(c);
        return c;
    };

    test('replies and pushes that share a frame are all handled, in order', async () => {
        // Holds what the fleet sends while `hold` is set, then hands it over as one frame.
        class HoldingWebSocket extends WebSocket {
            constructor(...args) {
                super(...args);
                this.held = [];
                HoldingWebSocket.last = this;
                this.addEventListener('message', (ev) => {
                    if (HoldingWebSocket.hold) {
                        this.held.push(ev.data);
                        return;
                    }
                    this.onmessage?.(ev);
                });
            }

            set onmessage(fn) {
                this._userOnMessage = fn;
            }

            get onmessage() {
                return this._userOnMessage;
            }

            // Hands over what was held as one frame, with a message push (what an application
            // sends a user; the fleet has no application backends to send one yet) in between.
            release() {
                HoldingWebSocket.hold = false;
                this.held.splice(1, 0, '{"push":{"message":{"data":{"hello":"you"}}}}');
                this._userOnMessage?.({ data: `\r\n${this.held.join('\r\n\n')}\n` });
            }
        }
        const c = track(client(fleet, { WebSocket: HoldingWebSocket }));
        const info = await c.connect();
        assert.equal(info.user, 'alice');
        const got = [];
        const pushes = [];
        c.on('push', (m) => pushes.push(m));
        const sub = c.subscribe('app:frames', (p) => got.push(p));
        await sub.ready;
        HoldingWebSocket.hold = true;
        const replies = Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
            c.publish('app:frames', { i })));
        const ws = HoldingWebSocket.last;
        // 8 publish replies and 8 pushes, in however many frames the fleet sent them.
        await waitFor(() => ws.held.flatMap((t) => parseFrame(t)).length >= 16, WAIT_MS,
            'the replies and pushes', () => JSON.stringify(ws.held));
        assert.equal(got.length, 0);
        ws.release();
        const offsets = (await replies).map((r) => r.offset);
        assert.ok(offsets.every((o, k) => k === 0 || o > offsets[k - 1]), String(offsets));
        assert.deepEqual(got.map((p) => p.offset), offsets);
        assert.deepEqual(got.map((p) => p.data.i), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert.deepEqual(pushes, [{ data: { hello: 'you' } }]);
    });

    test('subscribe with since replays, an unknown epoch is a gap, unsubscribe stops '
        + 'delivery, errors reject with their code', async () => {
        const c = track(client(fleet));
        await c.connect();
        const offsets = [];
        for (let i = 0; i < 4; i++) {
            offsets.push(await ctlPublish(fleet, 'app:api', { i }));
        }
        const h = await c.history('app:api', { limit: 2 });
        assert.deepEqual(h.pubs.map((p) => p.offset), offsets.slice(2));
        assert.equal(h.offset, offsets[3]);
        // From a position: the publications after it, in order.
        const replayed = [];
        const sub = c.subscribe('app:api', (p) => replayed.push(p.data.i),
            { since: { epoch: h.epoch, offset: offsets[0] } });
        const gaps = [];
        sub.on('gap', (g) => gaps.push(g));
        await sub.ready;
        assert.deepEqual(replayed, [1, 2, 3]);
        assert.deepEqual(gaps, []);
        assert.deepEqual(sub.position, { epoch: h.epoch, offset: offsets[3] });
        assert.throws(() => c.subscribe('app:api'), (e) => e.code === 105);
        // A position in a history that is gone: the 'gap' event, then live publications.
        const other = track(client(fleet));
        await other.connect();
        const live = [];
        const lost = other.subscribe('app:api', (p) => live.push(p.offset),
            { since: { epoch: 'not-this-one', offset: 1 } });
        const lostGaps = [];
        lost.on('gap', (g) => lostGaps.push(g));
        await lost.ready;
        assert.deepEqual(lostGaps, [{ epoch: h.epoch, offset: offsets[3],
            since: { epoch: 'not-this-one', offset: 1 } }]);
        assert.deepEqual(live, []);
        // Unsubscribed, a subscription gets nothing more; the other still does.
        sub.unsubscribe();
        assert.equal(sub.state, 'unsubscribed');
        const o5 = (await other.publish('app:api', { i: 5 })).offset;
        await waitFor(() => live.includes(o5), WAIT_MS, 'the live publication');
        assert.deepEqual(replayed, [1, 2, 3]);
        // Server errors reject with their code.
        await assert.rejects(c.rpc('nobody', {}), (e) => e instanceof WsfleetError &&
            e.code === 104);
        await assert.rejects(c.publish('news', 1), (e) => e.code === 103);
        const bad = c.subscribe('bad channel!');
        await assert.rejects(bad.ready, (e) => e.code === 102);
        assert.equal(bad.state, 'unsubscribed');
        assert.equal(c.getSubscription('bad channel!'), undefined);
        // More subscribes at once than the 64 commands the fleet takes in flight.
        const many = Array.from({ length: 100 }, (_, i) => c.subscribe(`app:many.${i}`));
        await Promise.all(many.map((m) => m.ready));
        assert.ok(many.every((m) => m.state === 'subscribed'));
        c.close();
        assert.ok(many.every((m) => m.state === 'unsubscribed'));
        assert.equal(c.subs.size, 0);
        assert.throws(() => c.subscribe('app:after'), (e) => e.code === 'closed');
    });

    test('the backoff grows while the fleet cannot be reached, and stays up after a worker is '
        + 'drained unless the connection lasted resetAfter', async () => {
        const dead = await deadServer();
        servers.push(dead.server);
        const backoff = { min: 40, max: 300, resetAfter: 3600000 };
        const c = track(client([dead.url, dead.url, dead.url, fleet.url('/channels')],
            { backoff, random: () => 0.5 }));
        await c.connect();
        assert.deepEqual(c.log.disconnects.map((d) => [d.code, d.reconnect, d.delay]),
            [[1006, true, 20], [1006, true, 40], [1006, true, 80]]);
        c.subscribe('app:backoff');
        await c.getSubscription('app:backoff').ready;
        const owner = await ownerOf(fleet, 'app:backoff');
        const r = await fleet.ctl(['drain', String(owner.slot)]);
        assert.equal(r.code, 0, r.stderr);
        // The drain's 1001, then the three unreachable URLs before the fleet's comes round.
        await waitFor(() => c.log.disconnects.length >= 7 && c.state === 'connected', WAIT_MS,
            'reconnected after the drain', () => JSON.stringify(c.log));
        assert.deepEqual(c.log.disconnects.slice(3, 7).map((d) => [d.code, d.reconnect, d.delay]),
            [[1001, true, 150], [1006, true, 150], [1006, true, 150], [1006, true, 150]]);
        assert.ok(c.log.disconnects.every((d) => d.reconnect), JSON.stringify(c.log));

        // A connection that lasted resetAfter starts the backoff over.
        const again = track(client([dead.url, fleet.url('/channels')],
            { backoff: { ...backoff, resetAfter: 0 }, random: () => 0.5 }));
        await again.connect();
        again.subscribe('app:reset');
        await again.getSubscription('app:reset').ready;
        const holder = await ownerOf(fleet, 'app:reset');
        assert.ok(signalPid(holder.pid, 'SIGKILL'));
        await waitFor(() => again.log.disconnects.length >= 3, WAIT_MS, 'the kill noticed');
        // Killed: back to the first delay; then the unreachable URL: the next one.
        assert.deepEqual(again.log.disconnects.slice(0, 3).map((d) => [d.code, d.delay]),
            [[1006, 20], [1006, 20], [1006, 40]]);
    });

    test('a bad token is final: 4401, connect() rejects with 101', async () => {
        const c = track(client(fleet, { token: 'not.a.token' }));
        await assert.rejects(c.connect(), (err) => err instanceof WsfleetError &&
            err.code === 101 && err.closeCode === 4401);
        assert.equal(c.state, 'disconnected');
        assert.deepEqual(c.log.disconnects.map((d) => [d.code, d.reconnect]), [[4401, false]]);
        assert.deepEqual(c.log.states, ['connecting', 'disconnected']);
    });

    test('an expired token: 4002, then getToken supplies a fresh one and the client is back',
        async () => {
            let asked = 0;
            const c = track(client(fleet, { token: token('bob', -600), random: () => 0,
                getToken: async () => {
                    asked++;
                    return token('bob');
                } }));
            const info = await c.connect();
            assert.equal(info.user, 'bob');
            assert.equal(asked, 1);
            assert.deepEqual(c.log.disconnects.map((d) => [d.code, d.reconnect]), [[4002, true]]);
            assert.deepEqual(c.log.errors.map((e) => e.code), [109]);
            // Without getToken an expired token is final.
            const stuck = track(client(fleet, { token: token('bob', -600) }));
            await assert.rejects(stuck.connect(), (err) => err.code === 109 &&
                err.closeCode === 4002);
            assert.deepEqual(stuck.log.disconnects.map((d) => [d.code, d.reconnect]),
                [[4002, false]]);
        });

    test('a 1008 for abuse is final', async () => {
        const c = track(client(fleet));
        await c.connect();
        for (let i = 0; i < 12; i++) {
            c._ws.send('{not json');
        }
        await waitFor(() => c.state === 'disconnected', WAIT_MS, 'the abuse close',
            () => JSON.stringify(c.log));
        assert.deepEqual(c.log.disconnects.map((d) => [d.code, d.reconnect]), [[1008, false]]);
        await assert.rejects(c.publish('app:x', 1), (err) => err.code === 'disconnected');
    });

    test('commands in flight reject when the worker dies; a command made while reconnecting '
        + 'waits, and the subscription resumes with every publication once', async () => {
        const c = track(client(fleet, { random: () => 0 }));
        await c.connect();
        const got = [];
        const sub = c.subscribe('app:inflight', (p) => got.push(p.offset));
        await sub.ready;
        const o1 = await c.publish('app:inflight', 'one');
        const owner = await ownerOf(fleet, 'app:inflight');
        // Stopped, the worker answers nothing: the commands are surely in flight when it dies.
        assert.ok(signalPid(owner.pid, 'SIGSTOP'));
        const inFlight = [c.publish('app:inflight', 'lost?'), c.history('app:inflight'),
            c.presence('app:inflight')].map((p) => p.then(() => 'resolved', (e) => e));
        assert.ok(signalPid(owner.pid, 'SIGKILL'));
        for (const e of await Promise.all(inFlight)) {
            assert.ok(e instanceof WsfleetError, String(e));
            assert.equal(e.code, 'disconnected');
            assert.equal(e.closeCode, 1006);
        }
        const o3 = await ctlPublish(fleet, 'app:inflight', 'while down');
        const o4 = (await c.publish('app:inflight', 'queued')).offset;
        assert.equal(c.state, 'connected');
        await waitFor(() => got.includes(o4), WAIT_MS, 'the resumed publications',
            () => JSON.stringify(got));
        // Whether the publish in flight ran is unknown to the client; the stream says.
        const h = await c.history('app:inflight');
        const expected = h.pubs.map((p) => p.offset);
        assert.ok(expected.includes(o1.offset) && expected.includes(o3));
        assert.deepEqual(got, expected);
        const p = await c.presence('app:inflight');
        assert.deepEqual(Object.keys(p.clients), [c.info.client]);
    });
});
