// Application backends over NATS: real wsworkers, a real nats-server and an application written
// here with the `nats` package, answering wsf.app.* in a queue group. Every event and reply shape,
// refusals with their codes, malformed replies (error 100, the worker lives on), pushes to users
// and clients across two workers, timeouts (108 / 1013), the backend breaker opening and closing,
// and the JWT user in events.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JSONCodec } from 'nats';
import { ChClient, channelsConfig } from './lib/channels.mjs';
import { startNats } from './lib/nats.mjs';
import { canEcho, sleep, startWorker, stopWorker } from './lib/worker.mjs';

const CONFIG = (extra = '') => `
[channels]
publish = client
[namespace priv]
subscribe = backend
[namespace mod]
publish = backend
[namespace room]
presence = yes
publish = client
[backend]
connect = yes
rpc = yes
timeout = 0.5
headers = X-App-Id
breaker_failures = 1000
${extra}
`;

// The breaker worker's own application: its subjects are those of every worker (one NATS), so it
// times out only on its methods ("slow"), which the others never call.
const BREAKER_CONFIG = CONFIG('breaker_failures = 3\nbreaker_window = 30\nopen_time = 4\n')
    .replace('breaker_failures = 1000\n', '');

const jc = JSONCodec();
const secret = randomBytes(32).toString('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'wsf-backend-'));
const secretFile = path.join(dir, 'secret');
writeFileSync(secretFile, secret);
chmodSync(secretFile, 0o600);

function hs256(claims) {
    const b64u = (v) => Buffer.from(v).toString('base64url');
    const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64u(JSON.stringify({
        exp: Math.floor(Date.now() / 1000) + 3600, ...claims,
    }))}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

// Malformed rpc replies, by index (ev.data.bad).
const MALFORMED = [
    'not json',
    '[]',
    '{}',
    '{"result":{},"error":{"code":1}}',
    '{"result":1}',
    '{"error":{"code":"x"}}',
    '{"error":{"code":0}}',
    '{"error":{"code":5,"message":7}}',
    '{"disconnect":{"code":4000}}', // only a connect may be disconnected
    '{"result":{"data":1},"result":{"data":2}}',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
];

let nats;
let app; // the application's NATS connection
const events = { connect: [], rpc: [], subscribe: [], publish: [], disconnect: [] };
let a;
let b;
let brk;
let jwt;

function serve(subject, handler) {
    const sub = app.subscribe(subject, { queue: 'app' });
    (async () => {
        for await (const m of sub) {
            const ev = jc.decode(m.data);
            events[subject.split('.').pop()].push(ev);
            const reply = handler(ev);
            if (reply !== undefined && m.reply) {
                m.respond(typeof reply === 'string' ? new TextEncoder().encode(reply) : jc.encode(reply));
            }
        }
    })();
}

before(async () => {
    nats = await startNats();
    app = await nats.client();
    serve('wsf.app.connect', (ev) => {
        const mode = ev.data?.mode;
        if (mode === 'deny') {
            return { error: { code: 103, message: 'not you' } };
        }
        if (mode === 'unauthorized') {
            return { error: { code: 101, message: 'who?' } };
        }
        if (mode === 'kick') {
            return { disconnect: { code: 4321, reason: 'kicked' } };
        }
        if (mode === 'slow') {
            return undefined;
        }
        if (mode === 'garbage') {
            return '{"result":{"channels":["bad name!"]}}';
        }
        if (mode === 'nons') {
            return { result: { channels: ['nons:x'] } };
        }
        return {
            result: {
                user: ev.data?.name ?? (ev.user || undefined),
                channels: ev.data?.channels ?? [],
                data: { welcome: ev.client },
            },
        };
    });
    serve('wsf.app.rpc', (ev) => {
        switch (ev.method) {
        case 'echo':
            return { result: { data: ev } };
        case 'nodata':
            return { result: {} };
        case 'refuse':
            return { error: { code: 4242, message: 'no way' } };
        case 'bad':
            return MALFORMED[ev.data.bad];
        default:
            return undefined; // slow, and anything else: never answered
        }
    });
    serve('wsf.app.subscribe', (ev) => (ev.channel === 'priv:ok'
        ? { result: {} } : { error: { code: 103, message: `not ${ev.channel}` } }));
    serve('wsf.app.publish', (ev) => {
        if (ev.channel === 'mod:upper') {
            return { result: { data: { text: String(ev.data.text).toUpperCase() } } };
        }
        if (ev.channel === 'mod:same') {
            return { result: {} };
        }
        return { error: { code: 103, message: 'moderated' } };
    });
    serve('wsf.app.disconnect', () => undefined);
    await app.flush();
    const flags = ['--nats-url', nats.url, '--channels-config', channelsConfig(CONFIG())];
    a = await startWorker({ flags });
    b = await startWorker({ flags });
    brk = await startWorker({
        flags: ['--nats-url', nats.url, '--channels-config', channelsConfig(BREAKER_CONFIG)],
    });
    jwt = await startWorker({ flags: [...flags, '--auth-hmac-secret-file', secretFile] });
});

after(async () => {
    const problems = [];
    for (const w of [a, b, brk, jwt]) {
        problems.push(await stopWorker(w));
    }
    await app?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(problems.filter(Boolean), []);
});

async function open(worker) {
    return ChClient.open(worker.url('/channels'), { worker });
}

async function connected(worker, body = {}) {
    const c = await open(worker);
    const r = await c.cmd('connect', body);
    assert.ok(r.connect, JSON.stringify(r));
    return { c, r };
}

// Waits for an event the application received that pred picks.
async function eventOf(kind, pred) {
    for (let i = 0; i < 200; i++) {
        const ev = events[kind].find(pred);
        if (ev) {
            return ev;
        }
        await sleep(25);
    }
    throw new Error(`no ${kind} event`);
}

describe('connect', () => {
    test('the event carries client, ip, selected headers, token and data; the result decides', async () => {
        const { WebSocket } = await import('ws');
        const ws = new WebSocket(a.url('/channels'), ['wsfleet.v1'], {
            headers: { 'User-Agent': 'backend-test/1', 'X-App-Id': 'app-7', 'X-Other': 'no' },
            origin: 'http://example.test',
        });
        a.track(ws);
        await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
        });
        const cl = new ChClient(ws);
        const r = await cl.cmd('connect', { token: 'opaque', data: { name: 'carol', n: [1, 2] } });
        assert.equal(r.connect.user, 'carol');
        assert.deepEqual(r.connect.data, { welcome: r.connect.client });
        const ev = await eventOf('connect', (e) => e.client === r.connect.client);
        assert.equal(ev.ip, '127.0.0.1');
        assert.equal(ev.headers['user-agent'], 'backend-test/1');
        assert.equal(ev.headers.origin, 'http://example.test');
        assert.equal(ev.headers['x-app-id'], 'app-7');
        assert.equal(ev.headers['x-other'], undefined);
        assert.equal(ev.token, 'opaque'); // auth off: the token is the application's to judge
        assert.deepEqual(ev.data, { name: 'carol', n: [1, 2] });
        assert.equal(ev.user, '');
        cl.close();
    });

    test('channels of the result are subscribed, resuming from the connect subs', async () => {
        const { c: pub } = await connected(a);
        const first = (await pub.cmd('publish', { channel: 'room1', data: 'one' })).publish.offset;
        await pub.cmd('publish', { channel: 'room1', data: 'two' });
        const { c, r } = await connected(b, {
            data: { channels: ['room1', 'priv:granted'] },
            subs: { room1: { epoch: (await pub.cmd('history', { channel: 'room1' })).history.epoch, offset: first } },
        });
        assert.equal(r.connect.subs.room1.recovered, true);
        assert.deepEqual(r.connect.subs.room1.pubs.map((p) => p.data), ['two']);
        assert.ok(r.connect.subs['priv:granted'], 'a backend namespace granted at connect');
        await pub.cmd('publish', { channel: 'room1', data: 'three' });
        const got = await c.pubsOf('room1', 1);
        assert.equal(got[0].data, 'three');
        pub.close();
        c.close();
    });

    test('error, disconnect and malformed replies refuse with their codes', async () => {
        const deny = await open(a);
        const r1 = await deny.cmd('connect', { data: { mode: 'deny' } });
        assert.deepEqual(r1.error, { code: 103, message: 'not you' });
        assert.equal((await deny.closed).code, 4403);

        const unauth = await open(a);
        assert.equal((await unauth.cmd('connect', { data: { mode: 'unauthorized' } })).error.code, 101);
        assert.equal((await unauth.closed).code, 4401);

        const kick = await open(a);
        kick.sendRaw(JSON.stringify({ id: 1, connect: { data: { mode: 'kick' } } }));
        assert.deepEqual(await kick.closed, { code: 4321, reason: 'kicked' });

        const garbage = await open(a);
        assert.equal((await garbage.cmd('connect', { data: { mode: 'garbage' } })).error.code, 100);
        assert.equal((await garbage.closed).code, 1011);

        const nons = await open(a);
        assert.equal((await nons.cmd('connect', { data: { mode: 'nons' } })).error.code, 102);
        assert.equal((await nons.closed).code, 1011);
        assert.ok(await canEcho(a));
    });

    test('a connect the application does not answer in time is closed with 1013', async () => {
        const c = await open(a);
        const r = await c.cmd('connect', { data: { mode: 'slow' } });
        assert.equal(r.error.code, 108);
        assert.equal((await c.closed).code, 1013);
    });

    test('a closing connection is notified on wsf.app.disconnect', async () => {
        const { c, r } = await connected(a, { data: { name: 'dave' } });
        c.close();
        const ev = await eventOf('disconnect', (e) => e.client === r.connect.client);
        assert.equal(ev.user, 'dave');
    });
});

describe('rpc', () => {
    test('the event carries client, user, method and data; the result data comes back', async () => {
        const { c, r } = await connected(a, { data: { name: 'erin' } });
        const rep = await c.cmd('rpc', { method: 'echo', data: { q: [1, 'x'] } });
        assert.deepEqual(rep.rpc.data, {
            client: r.connect.client, user: 'erin', method: 'echo', data: { q: [1, 'x'] },
        });
        assert.deepEqual((await c.cmd('rpc', { method: 'nodata' })).rpc, {});
        const noData = await c.cmd('rpc', { method: 'echo' });
        assert.equal(noData.rpc.data.data, undefined);
        c.close();
    });

    test('an error reply is passed through; no reply in time is 108', async () => {
        const { c } = await connected(a);
        assert.deepEqual((await c.cmd('rpc', { method: 'refuse' })).error, { code: 4242, message: 'no way' });
        assert.equal((await c.cmd('rpc', { method: 'slow' })).error.code, 108);
        c.close();
    });

    test('every malformed reply is answered with error 100 and the worker goes on', async () => {
        const { c } = await connected(a);
        for (let i = 0; i < MALFORMED.length; i++) {
            const rep = await c.cmd('rpc', { method: 'bad', data: { bad: i } });
            assert.equal(rep.error?.code, 100, `reply ${i}: ${MALFORMED[i]} -> ${JSON.stringify(rep)}`);
        }
        assert.ok((await c.cmd('rpc', { method: 'echo' })).rpc);
        c.close();
    });
});

describe('subscribe and publish = backend', () => {
    test('the application allows or denies a subscribe', async () => {
        const { c } = await connected(a, { data: { name: 'fay' } });
        assert.ok((await c.cmd('subscribe', { channel: 'priv:ok' })).subscribe);
        assert.deepEqual((await c.cmd('subscribe', { channel: 'priv:no' })).error,
            { code: 103, message: 'not priv:no' });
        const ev = await eventOf('subscribe', (e) => e.channel === 'priv:ok');
        assert.equal(ev.user, 'fay');
        c.close();
    });

    test('the application replaces, keeps or denies what is published', async () => {
        const { c } = await connected(a);
        assert.ok((await c.cmd('subscribe', { channel: 'mod:upper' })).subscribe);
        assert.ok((await c.cmd('publish', { channel: 'mod:upper', data: { text: 'hi' } })).publish);
        assert.deepEqual((await c.pubsOf('mod:upper', 1))[0].data, { text: 'HI' });
        assert.ok((await c.cmd('subscribe', { channel: 'mod:same' })).subscribe);
        assert.ok((await c.cmd('publish', { channel: 'mod:same', data: { text: 'hi' } })).publish);
        assert.deepEqual((await c.pubsOf('mod:same', 1))[0].data, { text: 'hi' });
        assert.deepEqual((await c.cmd('publish', { channel: 'mod:other', data: 1 })).error,
            { code: 103, message: 'moderated' });
        c.close();
    });
});

describe('pushes', () => {
    test('wsf.user.<user> reaches every connection of the user on every worker', async () => {
        const one = await connected(a, { data: { name: 'gus' } });
        const two = await connected(b, { data: { name: 'gus' } });
        const other = await connected(b, { data: { name: 'hal' } });
        const push = (c) => c.until(() => c.objects.find((o) => o.push?.message), 'push');
        // Subscriptions of the workers reach the server asynchronously: push until both have it.
        let got = null;
        for (let i = 0; i < 100 && !got; i++) {
            app.publish('wsf.user.gus', jc.encode({ data: { hello: 'gus' } }));
            await app.flush();
            await sleep(50);
            if (one.c.objects.some((o) => o.push?.message) && two.c.objects.some((o) => o.push?.message)) {
                got = true;
            }
        }
        assert.deepEqual((await push(one.c)).push.message, { data: { hello: 'gus' } });
        assert.deepEqual((await push(two.c)).push.message, { data: { hello: 'gus' } });
        assert.equal(other.c.objects.some((o) => o.push?.message), false);
        for (const x of [one, two, other]) {
            x.c.close();
        }
    });

    test('wsf.client.<id> reaches that one connection', async () => {
        const one = await connected(a, { data: { name: 'ivy' } });
        const two = await connected(b, { data: { name: 'ivy' } });
        app.publish(`wsf.client.${two.r.connect.client}`, jc.encode({ data: 'just you' }));
        const got = await two.c.until(() => two.c.objects.find((o) => o.push?.message), 'push');
        assert.deepEqual(got.push.message, { data: 'just you' });
        await sleep(200);
        assert.equal(one.c.objects.some((o) => o.push?.message), false);
        one.c.close();
        two.c.close();
    });
});

describe('jwt', () => {
    test('the token user is in the events', async () => {
        const tok = hs256({ sub: 'jill' });
        const { c, r } = await connected(jwt, { token: tok });
        assert.equal(r.connect.user, 'jill');
        const ev = await eventOf('connect', (e) => e.client === r.connect.client);
        assert.equal(ev.user, 'jill');
        assert.equal(ev.token, tok);
        assert.equal((await c.cmd('rpc', { method: 'echo' })).rpc.data.user, 'jill');
        c.close();
    });

    test('a user the application named keeps its name through a refresh of the token', async () => {
        const later = Math.floor(Date.now() / 1000) + 7200;
        const { c, r } = await connected(jwt, { token: hs256({ sub: 'jack' }), data: { name: 'bert' } });
        assert.equal(r.connect.user, 'bert');
        // Another subject, even the application's name for this user, is not this token's.
        for (const sub of ['bert', 'jill']) {
            const x = await c.cmd('refresh', { token: hs256({ sub, exp: later }) });
            assert.equal(x.error?.code, 101, JSON.stringify(x));
            assert.equal(x.error.message, 'token for another user');
        }
        const ok = await c.cmd('refresh', { token: hs256({ sub: 'jack', exp: later }) });
        assert.equal(ok.refresh?.expires, later, JSON.stringify(ok));
        assert.equal((await c.cmd('rpc', { method: 'echo' })).rpc.data.user, 'bert');
        // And again: the name and the token's subject both stay.
        const again = await c.cmd('refresh', { token: hs256({ sub: 'jack', exp: later + 1 }) });
        assert.equal(again.refresh?.expires, later + 1, JSON.stringify(again));
        assert.equal((await c.cmd('rpc', { method: 'echo' })).rpc.data.user, 'bert');
        c.close();
    });
});

describe('users in presence and publications', () => {
    test('presence names each client\'s user; live and replayed publications carry info.user', async () => {
        // A token's user, the application's users (one needing escapes in a header), and none.
        const alice = await connected(jwt, { token: hs256({ sub: 'alice' }) });
        const bob = await connected(b, { data: { name: 'bob' } });
        const odd = await connected(a, { data: { name: 'Zoë 100%\n' } });
        const anon = await connected(a);
        assert.equal(odd.r.connect.user, 'Zoë 100%\n');
        assert.equal(anon.r.connect.user, '');
        for (const x of [alice, bob, odd, anon]) {
            assert.ok((await x.c.cmd('subscribe', { channel: 'room:users' })).subscribe);
        }
        const id = (x) => x.r.connect.client;
        const p = await anon.c.cmd('presence', { channel: 'room:users' });
        assert.deepEqual(p.presence.clients, {
            [id(alice)]: { user: 'alice' },
            [id(bob)]: { user: 'bob' },
            [id(odd)]: { user: 'Zoë 100%\n' },
            [id(anon)]: { user: '' },
        });

        for (const [x, n] of [[alice, 1], [odd, 2], [anon, 3]]) {
            assert.ok((await x.c.cmd('publish', { channel: 'room:users', data: { n } })).publish);
        }
        const want = [{ user: 'alice' }, { user: 'Zoë 100%\n' }, undefined];
        const live = await bob.c.pubsOf('room:users', 3);
        assert.deepEqual(live.map((q) => q.data.n), [1, 2, 3]);
        assert.deepEqual(live.map((q) => q.info), want);
        const h = await bob.c.cmd('history', { channel: 'room:users', limit: 10 });
        assert.deepEqual(h.history.pubs.map((q) => q.info), want);
        // A subscribe that replays (since) carries them too.
        const late = await connected(b, { data: { name: 'late' } });
        const r = await late.c.cmd('subscribe', {
            channel: 'room:users', since: { epoch: h.history.epoch, offset: live[0].offset - 1 },
        });
        assert.deepEqual(r.subscribe.pubs.map((q) => q.info), want);
        for (const x of [alice, bob, odd, anon, late]) {
            x.c.close();
        }
    });
});

describe('breaker', () => {
    test('failures open the backend breaker (fast 108), a probe closes it again', async () => {
        const { c } = await connected(brk);
        for (let i = 0; i < 3; i++) {
            assert.equal((await c.cmd('rpc', { method: 'slow' })).error.code, 108);
        }
        // Open: refused without asking the application.
        const before = events.rpc.length;
        const fast = await c.cmd('rpc', { method: 'echo', data: 'while open' });
        assert.equal(fast.error.code, 108);
        assert.equal(events.rpc.filter((e) => e.data === 'while open').length, 0);
        assert.ok(events.rpc.length >= before);
        // A connect meanwhile is closed with 1013.
        const d = await open(brk);
        assert.equal((await d.cmd('connect', {})).error.code, 108);
        assert.equal((await d.closed).code, 1013);
        // After open_time a probe goes and succeeds: closed again.
        let ok = false;
        for (let i = 0; i < 100 && !ok; i++) {
            ok = Boolean((await c.cmd('rpc', { method: 'echo' })).rpc);
            if (!ok) {
                await sleep(100);
            }
        }
        assert.ok(ok, 'the breaker closed again');
        assert.ok((await c.cmd('rpc', { method: 'echo' })).rpc);
        c.close();
    });
});

describe('no application subscribed', () => {
    // A NATS of its own with no application at all: every request is answered by the server's
    // "no responders" status. The timeout is far longer than the test's deadlines, so each 108
    // and 1013 here comes from that status, not from the timeout.
    test('rpc, subscribe and publish get 108 "no backend" at once; a connect is closed with 1013', async () => {
        const lone = await startNats();
        const conf = CONFIG().replace('timeout = 0.5', 'timeout = 60');
        const flags = (c) => ['--nats-url', lone.url, '--channels-config', channelsConfig(c)];
        const withConnect = await startWorker({ flags: flags(conf) });
        const without = await startWorker({ flags: flags(conf.replace('connect = yes', 'connect = no')) });
        try {
            const c = await open(withConnect);
            const r = await c.cmd('connect', {});
            assert.equal(r.error?.code, 108, JSON.stringify(r));
            assert.equal(r.error.message, 'no backend');
            assert.equal((await c.closed).code, 1013);
            // Each kind has its own inbox; pipelined requests of several kinds all fail.
            const { c: d } = await connected(without);
            const replies = await Promise.all([
                ...Array.from({ length: 5 }, (_, i) => d.cmd('rpc', { method: 'echo', data: i })),
                d.cmd('subscribe', { channel: 'priv:x' }),
                d.cmd('publish', { channel: 'mod:x', data: 1 }),
                d.cmd('rpc', { method: 'echo', data: 'last' }),
            ]);
            for (const x of replies) {
                assert.equal(x.error?.code, 108, JSON.stringify(x));
                assert.equal(x.error.message, 'no backend');
            }
            d.close();
        } finally {
            const problems = [await stopWorker(withConnect), await stopWorker(without)];
            await lone.stop();
            assert.deepEqual(problems.filter(Boolean), []);
        }
    });
});
