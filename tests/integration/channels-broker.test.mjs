// /channels while nats-server is SIGKILLed and restarted on the same port and store: channel
// commands answer 108, echo keeps working on the same worker, subscribers stay connected, and once
// the broker is back they receive everything published after it returned plus what they missed,
// exactly once and in order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ChClient, channelsConfig } from './lib/channels.mjs';
import { waitFor } from './lib/fleet.mjs';
import { startNats } from './lib/nats.mjs';
import { WebSocket, canEcho, sleep, slow, startWorker, stopWorker } from './lib/worker.mjs';

let nats;
let w;

before(async () => {
    nats = await startNats();
    // The URL (with its token) from a file, as wsfleetd passes it.
    const urlFile = nats.writeUrlFile();
    w = await startWorker({
        flags: ['--log-level', 'debug', '--nats-url-file', urlFile, '--channels-config',
            channelsConfig('[channels]\npublish = client\n')],
    });
});

after(async () => {
    const problem = await stopWorker(w);
    await nats?.kill();
    await nats?.stop();
    assert.equal(problem, null);
});

async function connected() {
    const c = await ChClient.open(w.url('/channels'), { worker: w });
    assert.ok((await c.cmd('connect', {})).connect);
    return c;
}

// Every bound below is a liveness bound (it happens at all), stretched for slower builds; none
// is a sleep followed by an assertion.
const BACK_MS = slow(20000);

// The worker's stderr so far, for a failure message.
function tail() {
    return w.stderr.slice(-6000);
}

// Resolves once the worker logged a line matching re (stderr is read as the worker writes it,
// so a line may arrive after the WebSocket frames its cause produced).
async function logged(re, what) {
    return waitFor(() => re.test(w.stderr), BACK_MS, what, tail);
}

// Repeats publish until it succeeds (the worker reconnects on its own); returns the offset.
async function publishWhenBack(c, channel, data) {
    const deadline = Date.now() + BACK_MS;
    for (;;) {
        const r = await c.cmd('publish', { channel, data });
        if (r.publish) {
            return r.publish.offset;
        }
        assert.equal(r.error?.code, 108, JSON.stringify(r));
        if (Date.now() > deadline) {
            throw new Error(`NATS never came back for the worker:\n${tail()}`);
        }
        await sleep(50);
    }
}

test('nats-server killed and restarted: 108 meanwhile, nothing lost, nothing twice', async () => {
    const sub = await connected();
    const sub2 = await connected();
    const pub = await connected();
    assert.ok((await sub.cmd('subscribe', { channel: 'bk' })).subscribe);
    assert.ok((await sub2.cmd('subscribe', { channel: 'bk' })).subscribe);
    const acked = [];
    for (let i = 0; i < 3; i++) {
        acked.push(await publishWhenBack(pub, 'bk', { before: i }));
    }
    await sub.pubsOf('bk', 3);

    await nats.kill();
    // A publish sent before the worker has heard of it fails on its own (its request fails at the
    // disconnect or times out): 108 either way, as the server is gone. It may still be stored
    // once NATS is back (libnats resends what it buffered), which the checks below allow.
    const during = await pub.cmd('publish', { channel: 'bk', data: 'while down' });
    assert.equal(during.error?.code, 108, JSON.stringify(during));
    // Once the worker knows (the event comes from a libnats thread through the loop's queue),
    // every channel command is refused with 108 at once: nothing below may still be answered
    // from what the worker knew before.
    await logged(/channels: NATS disconnected/, 'the worker to notice NATS is gone');
    const r = await pub.cmd('publish', { channel: 'bk', data: 'while down' });
    assert.equal(r.error?.code, 108, JSON.stringify(r));
    assert.equal((await pub.cmd('subscribe', { channel: 'other' })).error.code, 108);
    assert.equal((await pub.cmd('history', { channel: 'bk' })).error.code, 108);
    assert.ok(await canEcho(w), 'echo works while NATS is down');
    // A plain connect needs no NATS; one that resumes channels does, and fails as a whole.
    const late = await connected();
    late.close();
    const resuming = await ChClient.open(w.url('/channels'), { worker: w });
    const refused = await resuming.cmd('connect', { subs: { bk: {} } });
    assert.equal(refused.error.code, 108);
    assert.equal((await resuming.closed).code, 1013);
    assert.equal(sub.ws.readyState, WebSocket.OPEN);

    await nats.start();
    // A publication straight into NATS right away: the worker may not be back yet, so its live
    // copy may never reach it; history must bring it.
    const nc = await nats.client();
    let direct;
    try {
        const js = nc.jetstream();
        const deadline = Date.now() + BACK_MS;
        while (!direct) {
            try {
                direct = (await js.publish('wsf.ch.bk', new TextEncoder().encode('"direct"'))).seq;
            } catch (err) {
                if (Date.now() > deadline) {
                    throw err;
                }
                await sleep(50); // JetStream recovering its store
            }
        }
    } finally {
        await nc.close();
    }
    acked.push(direct);
    for (let i = 0; i < 5; i++) {
        acked.push(await publishWhenBack(pub, 'bk', { after: i }));
    }
    const want = [...new Set(acked)].sort((x, y) => x - y);
    const got = await sub.until(() => {
        const offs = sub.pushes.filter((p) => p.channel === 'bk').map((p) => p.pub.offset);
        return offs.length >= want.length && offs.includes(want.at(-1)) ? offs : null;
    }, 'every acknowledged publication', slow(30000));
    // In order, exactly once, and every acknowledged one (a publication refused with 108 may
    // still have been stored, so got may hold more than want, never less).
    for (let i = 1; i < got.length; i++) {
        assert.ok(got[i] > got[i - 1], `offsets out of order or repeated: ${got}`);
    }
    for (const o of want) {
        assert.ok(got.includes(o), `offset ${o} lost; got ${got}`);
    }
    assert.equal(sub.pushes.find((p) => p.pub.offset === direct).pub.data, 'direct');
    // The other subscriber of the channel got the same, and its catch-up shared the requests.
    const got2 = await sub2.until(() => {
        const offs = sub2.pushes.filter((p) => p.channel === 'bk').map((p) => p.pub.offset);
        return offs.length >= got.length ? offs : null;
    }, 'the second subscriber', slow(30000));
    assert.deepEqual(got2, got);
    // The reconnect queued both subscriptions' catch-up in one pass: one request for the channel.
    await logged(/channels: 1 history requests for 2 subscriptions/,
        'one history request for both subscriptions (a reconnect fetches once per channel)');
    assert.equal(sub.ws.readyState, WebSocket.OPEN, 'the subscriber stayed connected');
    sub.close();
    sub2.close();
    pub.close();
});
