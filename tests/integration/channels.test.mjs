// /channels (wsfleet.v1) on real wsworkers sharing a real nats-server with JetStream: every
// command and error, the subprotocol, fan-out across two workers, frames shared by several
// objects, presence across workers, the namespace history window, a lost stream (new epoch),
// resume after a SIGKILLed worker, and a slow subscriber closed with 4001.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChClient, PROTOCOL, channelsConfig } from './lib/channels.mjs';
import { startNats } from './lib/nats.mjs';
import {
    canEcho, httpExchange, runWorker, sleep, startWorker, stopWorker, upgradeRequest,
} from './lib/worker.mjs';

const CONFIG = `
# defaults: clients may publish
[channels]
publish = client
[namespace small]
history_size = 3
publish = client
[namespace room]
presence = yes
publish = client
[namespace ro]
publish = none
[namespace brief]
history_ttl = 2
publish = client
`;

let nats;
let a;
let b;
let flags;

before(async () => {
    nats = await startNats();
    flags = ['--nats-url', nats.url, '--channels-config', channelsConfig(CONFIG)];
    a = await startWorker({ flags });
    b = await startWorker({ flags });
});

after(async () => {
    const problems = [await stopWorker(a), await stopWorker(b)].filter(Boolean);
    await nats?.stop();
    assert.deepEqual(problems, []);
});

async function connected(worker) {
    const c = await ChClient.open(worker.url('/channels'), { worker });
    const r = await c.cmd('connect', {});
    assert.ok(r.connect, JSON.stringify(r));
    return c;
}

// Publishes through a client; returns the offset.
async function publish(c, channel, data) {
    const r = await c.cmd('publish', { channel, data });
    assert.ok(r.publish, JSON.stringify(r));
    return r.publish.offset;
}

describe('route and subprotocol', () => {
    test('wsfleet.v1 is selected when offered, and the route is served without a subprotocol', async () => {
        const offered = await httpExchange(a, upgradeRequest({
            path: '/channels', extra: [`Sec-WebSocket-Protocol: chat, ${PROTOCOL}`],
        }).text);
        assert.equal(offered.status, 101);
        assert.deepEqual(offered.headers['sec-websocket-protocol'], [PROTOCOL]);

        const none = await httpExchange(a, upgradeRequest({ path: '/channels' }).text);
        assert.equal(none.status, 101);
        assert.equal(none.headers['sec-websocket-protocol'], undefined);

        // Only other subprotocols: served without selecting one (the client decides).
        const other = await httpExchange(a, upgradeRequest({
            path: '/channels', extra: ['Sec-WebSocket-Protocol: mqtt'],
        }).text);
        assert.equal(other.status, 101);
        assert.equal(other.headers['sec-websocket-protocol'], undefined);

        // /echo never selects one.
        const echo = await httpExchange(a, upgradeRequest({
            path: '/echo', extra: [`Sec-WebSocket-Protocol: ${PROTOCOL}`],
        }).text);
        assert.equal(echo.status, 101);
        assert.equal(echo.headers['sec-websocket-protocol'], undefined);

        const c = await ChClient.open(a.url('/channels'), { worker: a });
        assert.equal(c.ws.protocol, PROTOCOL);
        const plain = await ChClient.open(a.url('/channels'), { worker: a, protocols: [] });
        assert.ok((await plain.cmd('connect', {})).connect);
        c.close();
        plain.close();
    });

    test('without a NATS URL there is no /channels route', async () => {
        const w = await startWorker();
        try {
            const res = await httpExchange(w, upgradeRequest({ path: '/channels' }).text);
            assert.equal(res.status, 404);
            assert.match(w.stderr, /channels off/);
        } finally {
            assert.equal(await stopWorker(w), null);
        }
    });

    test('a bad channels config or URL file stops the worker before it serves (exit 100)', async () => {
        const bad = channelsConfig('[channels]\npublish = everyone\n');
        const r = await runWorker(['--listen', '127.0.0.1:0', '--nats-url', nats.url,
            '--channels-config', bad]);
        assert.equal(r.code, 100, r.stderr);
        assert.match(r.stderr, /channels\.ini: line 2: \[channels\] /);
        const missing = await runWorker(['--listen', '127.0.0.1:0', '--nats-url-file',
            '/nonexistent/nats.url']);
        assert.equal(missing.code, 100, missing.stderr);
        assert.match(missing.stderr, /--nats-url-file \/nonexistent\/nats.url: No such file/);
    });
});

describe('commands and errors', () => {
    test('a command before connect is 111, and connect answers client and user', async () => {
        const c = await ChClient.open(a.url('/channels'), { worker: a });
        const early = await c.cmd('subscribe', { channel: 'news' });
        assert.equal(early.error.code, 111);
        const r = await c.cmd('connect', {});
        assert.equal(typeof r.connect.client, 'string');
        assert.equal(r.connect.user, '');
        assert.equal((await c.cmd('connect', {})).error.code, 110);
        c.close();
    });

    test('every error of the table a client can provoke', async () => {
        const c = await connected(a);
        assert.equal((await c.cmd('subscribe', { channel: 'bad name!' })).error.code, 102);
        assert.equal((await c.cmd('subscribe', { channel: 'nons:x' })).error.code, 102);
        assert.equal((await c.cmd('publish', { channel: 'ro:x', data: 1 })).error.code, 103);
        assert.equal((await c.cmd('presence', { channel: 'news' })).error.code, 115);
        assert.equal((await c.cmd('unsubscribe', { channel: 'news' })).error.code, 114);
        assert.equal((await c.cmd('rpc', { method: 'm', data: 1 })).error.code, 104);
        assert.equal((await c.cmd('refresh', { token: 't' })).error.code, 101); // connect had no token
        assert.equal((await c.cmd('bogus', {})).error.code, 113);
        assert.ok((await c.cmd('subscribe', { channel: 'errs' })).subscribe);
        assert.equal((await c.cmd('subscribe', { channel: 'errs' })).error.code, 105);
        assert.deepEqual((await c.cmd('unsubscribe', { channel: 'errs' })).unsubscribe, {});

        // Malformed JSON: an error without id, and the connection goes on.
        c.sendRaw('{"id":');
        await c.until(() => c.objects.find((o) => o.error && o.id === undefined), 'error 107');
        assert.equal(c.objects.find((o) => o.error && o.id === undefined).error.code, 107);

        // Duplicate id within one frame: 112 for the second.
        c.sendRaw('{"id":500,"history":{"channel":"dup"}}\n{"id":500,"history":{"channel":"dup"}}');
        await c.until(() => c.objects.find((o) => o.id === 500 && o.error?.code === 112), '112');
        c.close();
    });

    test('replies produced together share one frame, one object per line', async () => {
        const c = await connected(a);
        const before = c.frames.length;
        c.sendRaw([
            JSON.stringify({ id: 10, rpc: { method: 'x' } }),
            JSON.stringify({ id: 11, unsubscribe: { channel: 'none' } }),
            JSON.stringify({ id: 12, refresh: { token: 't' } }),
        ].join('\n'));
        await c.until(() => c.replies.get(12), 'reply 12');
        assert.equal(c.frames.length, before + 1, 'three replies, one frame');
        assert.equal(c.frames.at(-1).split('\n').length, 3);
        c.close();
    });

    test('repeated protocol abuse closes with 1008', async () => {
        const c = await connected(a);
        c.sendRaw(Array.from({ length: 12 }, () => 'not json').join('\n'));
        const { code } = await c.closed;
        assert.equal(code, 1008);
    });

    test('history answers the newest publications', async () => {
        const c = await connected(a);
        const offsets = [];
        for (let i = 0; i < 5; i++) {
            offsets.push(await publish(c, 'hist', { i }));
        }
        const r = await c.cmd('history', { channel: 'hist', limit: 2 });
        assert.equal(r.history.offset, offsets[4]);
        assert.deepEqual(r.history.pubs.map((p) => p.offset), offsets.slice(3));
        assert.deepEqual(r.history.pubs.map((p) => p.data), [{ i: 3 }, { i: 4 }]);
        c.close();
    });
});

describe('fan-out and presence across two workers', () => {
    test('a publication reaches subscribers on both workers, in order, exactly once', async () => {
        const subA = await connected(a);
        const subB = await connected(b);
        const pub = await connected(b);
        const rA = await subA.cmd('subscribe', { channel: 'fan' });
        const rB = await subB.cmd('subscribe', { channel: 'fan' });
        assert.equal(rA.subscribe.recovered, true);
        assert.equal(rA.subscribe.epoch, rB.subscribe.epoch);
        const offsets = [];
        for (let i = 0; i < 20; i++) {
            offsets.push(await publish(pub, 'fan', { n: i }));
        }
        for (const s of [subA, subB]) {
            const got = await s.pubsOf('fan', 20);
            assert.deepEqual(got.map((p) => p.offset), offsets);
            assert.deepEqual(got.map((p) => p.data.n), [...Array(20).keys()]);
        }
        subA.close();
        subB.close();
        pub.close();
    });

    test('publications that queue for a worker leave in one frame per subscriber, the same for all', async () => {
        const subs = [await connected(a), await connected(a), await connected(a)];
        const pub = await connected(b);
        for (const s of subs) {
            assert.ok((await s.cmd('subscribe', { channel: 'burst' })).subscribe);
        }
        const warm = await publish(pub, 'burst', { n: -1 });
        for (const s of subs) {
            await s.until(() => s.pushes.some((p) => p.pub.offset === warm), 'the first push');
        }
        // Stopped, worker a cannot read: the publications wait in its NATS socket and are
        // handled together once it runs again. Whether all three land in one loop iteration is up
        // to the scheduler, so a round that split them all is tried again; every round must give
        // every subscriber the same frames and every offset once, in order.
        const expect = [warm];
        let shared = 0;
        for (let round = 0; round < 6 && shared < 2; round++) {
            const before = subs.map((s) => s.frames.length);
            a.kill('SIGSTOP');
            try {
                for (let i = 0; i < 3; i++) {
                    expect.push(await publish(pub, 'burst', { n: i, round }));
                }
                await sleep(500); // nats-server writes them to worker a's socket meanwhile
            } finally {
                a.kill('SIGCONT');
            }
            const frames = [];
            for (const [k, s] of subs.entries()) {
                const got = await s.pubsOf('burst', expect.length);
                assert.deepEqual(got.map((p) => p.offset), expect);
                frames.push(s.frames.slice(before[k]));
            }
            assert.deepEqual(frames[1], frames[0], 'the same frames for every subscriber');
            assert.deepEqual(frames[2], frames[0], 'the same frames for every subscriber');
            assert.equal(frames[0].reduce((n, f) => n + f.split('\n').length, 0), 3);
            shared = Math.max(shared, ...frames[0].map((f) => f.split('\n').length));
        }
        assert.ok(shared >= 2, 'publications handled in one loop iteration share a frame');
        for (const s of subs) {
            s.close();
        }
        pub.close();
    });

    test('presence lists the clients of every worker', async () => {
        const ca = await connected(a);
        const cb = await connected(b);
        await ca.cmd('subscribe', { channel: 'room:1' });
        await cb.cmd('subscribe', { channel: 'room:1' });
        const idA = ca.replies.get(1).connect.client;
        const idB = cb.replies.get(1).connect.client;
        const r = await ca.cmd('presence', { channel: 'room:1' });
        assert.deepEqual(Object.keys(r.presence.clients).sort(), [idA, idB].sort());
        assert.deepEqual(r.presence.clients[idA], { user: '' });
        ca.close();
        cb.close();
    });

    test('wsf.admin.channels is answered by every worker', async () => {
        const c = await connected(a);
        await c.cmd('subscribe', { channel: 'admin.seen' });
        // Generous: replies take milliseconds, but a loaded machine must not lose one.
        const replies = await nats.gather('wsf.admin.channels', 2000);
        const pids = replies.map((r) => r.pid).sort();
        assert.deepEqual(pids, [a.pid, b.pid].sort());
        const mine = replies.find((r) => r.pid === a.pid);
        assert.equal(mine.slot, -1);
        assert.equal(mine.channels['admin.seen'], 1);
        c.close();
    });
});

describe('resume', () => {
    test('since within the window: every missed publication, exactly once, then live', async () => {
        const pub = await connected(b);
        const w = await startWorker({ flags });
        let stopped = false;
        try {
            const s = await connected(w);
            const first = await s.cmd('subscribe', { channel: 'resume' });
            const epoch = first.subscribe.epoch;
            const early = [await publish(pub, 'resume', 1), await publish(pub, 'resume', 2)];
            const got = await s.pubsOf('resume', 2);
            assert.deepEqual(got.map((p) => p.offset), early);
            w.kill('SIGKILL');
            await w.exited;
            stopped = true;
            const missed = [];
            for (let i = 3; i <= 6; i++) {
                missed.push(await publish(pub, 'resume', i));
            }
            const again = await connected(a);
            const r = await again.cmd('subscribe', {
                channel: 'resume', since: { epoch, offset: early[1] },
            });
            assert.equal(r.subscribe.recovered, true);
            assert.equal(r.subscribe.epoch, epoch);
            assert.equal(r.subscribe.offset, missed.at(-1));
            assert.deepEqual(r.subscribe.pubs.map((p) => p.offset), missed);
            assert.deepEqual(r.subscribe.pubs.map((p) => p.data), [3, 4, 5, 6]);
            const live = await publish(pub, 'resume', 7);
            const pushes = await again.pubsOf('resume', 1);
            assert.deepEqual(pushes.map((p) => p.offset), [live]);
            again.close();
        } finally {
            if (!stopped) {
                await stopWorker(w);
            }
        }
        pub.close();
    });

    test('connect with subs resumes several channels in its reply', async () => {
        const pub = await connected(b);
        const o1 = await publish(pub, 'cs.one', 'a');
        const o2 = await publish(pub, 'cs.one', 'b');
        const o3 = await publish(pub, 'cs.two', 'c');
        const epoch = (await pub.cmd('history', { channel: 'cs.one', limit: 1 })).history.epoch;
        const c = await ChClient.open(a.url('/channels'), { worker: a });
        const r = await c.cmd('connect', {
            subs: { 'cs.one': { epoch, offset: o1 }, 'cs.two': {} },
        });
        const subs = r.connect.subs;
        assert.equal(subs['cs.one'].recovered, true);
        assert.deepEqual(subs['cs.one'].pubs.map((p) => p.offset), [o2]);
        assert.equal(subs['cs.two'].recovered, true);
        assert.equal(subs['cs.two'].offset, o3);
        assert.deepEqual(subs['cs.two'].pubs, []);
        const o4 = await publish(pub, 'cs.two', 'd');
        assert.deepEqual((await c.pubsOf('cs.two', 1)).map((p) => p.offset), [o4]);
        c.close();
        pub.close();
    });

    test('recovered is false outside the namespace history_size', async () => {
        const c = await connected(a);
        const offsets = [];
        for (let i = 0; i < 6; i++) {
            offsets.push(await publish(c, 'small:x', i));
        }
        const { epoch } = (await c.cmd('history', { channel: 'small:x' })).history;
        const inside = await c.cmd('subscribe', {
            channel: 'small:x', since: { epoch, offset: offsets[2] },
        });
        assert.equal(inside.subscribe.recovered, true);
        assert.deepEqual(inside.subscribe.pubs.map((p) => p.offset), offsets.slice(3));
        const c2 = await connected(a);
        const outside = await c2.cmd('subscribe', {
            channel: 'small:x', since: { epoch, offset: offsets[1] },
        });
        assert.equal(outside.subscribe.recovered, false);
        assert.deepEqual(outside.subscribe.pubs, []);
        assert.equal(outside.subscribe.offset, offsets[5]);
        c.close();
        c2.close();
    });

    test('no since on a followed channel: its newest offset, then each later pub once', async () => {
        const pub = await connected(b);
        const first = await connected(a);
        await first.cmd('subscribe', { channel: 'known' });
        const offs = [];
        for (let i = 0; i < 3; i++) {
            offs.push(await publish(pub, 'known', i));
        }
        await first.pubsOf('known', 3);
        // Publications in flight while the others subscribe: none may be missed or doubled.
        const racing = [];
        for (let i = 0; i < 20; i++) {
            racing.push(pub.cmd('publish', { channel: 'known', data: 100 + i }));
        }
        const second = await connected(a);
        const r = await second.cmd('subscribe', { channel: 'known' });
        const third = await ChClient.open(a.url('/channels'), { worker: a });
        const c = await third.cmd('connect', { subs: { known: {} } });
        const acked = (await Promise.all(racing)).map((x) => x.publish.offset);
        const all = [...offs, ...acked].sort((x, y) => x - y);
        const end = await publish(pub, 'known', 'end');
        all.push(end);
        for (const [client, st] of [[second, r.subscribe], [third, c.connect.subs.known]]) {
            assert.equal(st.recovered, true);
            assert.deepEqual(st.pubs, []);
            assert.ok(all.includes(st.offset), `offset ${st.offset} is a publication`);
            const want = all.filter((o) => o > st.offset);
            await client.until(() => client.pushes.some((p) => p.pub.offset === end), 'end');
            assert.deepEqual(client.pushes.map((p) => p.pub.offset), want);
        }
        pub.close();
        first.close();
        second.close();
        third.close();
    });

    test('recovered is false past the namespace history_ttl, though the stream keeps them', async () => {
        // The stream keeps 300 s (the longest history_ttl); brief: keeps 2 s of it.
        const c = await connected(a);
        const short = [await publish(c, 'brief:t', 1), await publish(c, 'brief:t', 2)];
        const long = [await publish(c, 'ttl.long', 1), await publish(c, 'ttl.long', 2)];
        const { epoch } = (await c.cmd('history', { channel: 'ttl.long' })).history;
        await sleep(2200); // past brief's ttl; the worker's own clock decides, nothing races it
        const c2 = await connected(b);
        const gone = await c2.cmd('subscribe', {
            channel: 'brief:t', since: { epoch, offset: short[0] - 1 },
        });
        assert.equal(gone.subscribe.recovered, false, JSON.stringify(gone));
        assert.deepEqual(gone.subscribe.pubs, []);
        assert.equal(gone.subscribe.offset, short[1]);
        const kept = await c2.cmd('subscribe', {
            channel: 'ttl.long', since: { epoch, offset: long[0] - 1 },
        });
        assert.equal(kept.subscribe.recovered, true, JSON.stringify(kept));
        assert.deepEqual(kept.subscribe.pubs.map((p) => p.offset), long);
        const hist = (await c2.cmd('history', { channel: 'brief:t' })).history;
        assert.deepEqual(hist.pubs, []);
        assert.equal(hist.offset, short[1]);
        // A new publication is within the ttl again: history and live delivery both have it.
        const fresh = await publish(c, 'brief:t', 3);
        assert.deepEqual((await c2.pubsOf('brief:t', 1)).map((p) => p.offset), [fresh]);
        const again = (await c2.cmd('history', { channel: 'brief:t' })).history;
        assert.deepEqual(again.pubs.map((p) => p.offset), [fresh]);
        c.close();
        c2.close();
    });

    test('a deleted stream is a new epoch: recovered false', async () => {
        const c = await connected(a);
        const off = await publish(c, 'epoch', 'old');
        const { epoch } = (await c.cmd('history', { channel: 'epoch' })).history;
        await nats.deleteStream();
        const c2 = await connected(b);
        // The first subscribe finds no stream: the worker makes a new one and answers 108 until
        // it exists.
        let reply = await c2.cmd('subscribe', { channel: 'epoch', since: { epoch, offset: off } });
        for (let i = 0; reply.error?.code === 108 && i < 100; i++) {
            await sleep(50);
            reply = await c2.cmd('subscribe', { channel: 'epoch', since: { epoch, offset: off } });
        }
        assert.equal(reply.subscribe.recovered, false, JSON.stringify(reply));
        assert.notEqual(reply.subscribe.epoch, epoch);
        const fresh = await publish(c, 'epoch', 'new');
        assert.deepEqual((await c2.pubsOf('epoch', 1)).map((p) => p.offset), [fresh]);
        c.close();
        c2.close();
    });
});

describe('slow subscribers', () => {
    test('a subscriber that never reads is closed 4001 while another keeps receiving', async () => {
        const w = await startWorker({
            flags: [...flags, '--max-backlog', '262144', '--close-timeout', '60'],
        });
        try {
            const slow = await connected(w);
            const fast = await connected(w);
            const pub = await connected(b);
            await slow.cmd('subscribe', { channel: 'flood' });
            await fast.cmd('subscribe', { channel: 'flood' });
            slow.ws._socket.pause();
            const data = 'x'.repeat(60000);
            const n = 200;
            for (let i = 0; i < n; i++) {
                await publish(pub, 'flood', data);
            }
            assert.equal((await fast.pubsOf('flood', n, 60000)).length, n);
            slow.ws._socket.resume();
            const { code, reason } = await slow.closed;
            assert.equal(code, 4001);
            assert.equal(reason, 'lagging, resume');
            assert.ok(slow.pushes.length < n);
            assert.ok(await canEcho(w));
            pub.close();
            fast.close();
        } finally {
            assert.equal(await stopWorker(w), null);
        }
    });
});
