// Multi-host on one machine: scripts/cluster starts three routed JetStream nats-server nodes and
// three fleets (a, b, c) sharing them with replicas 3. A subscriber on one fleet receives, exactly
// once and in order, what is published on another fleet by a client, by wsctl publish on a third,
// and by a NATS client on another node; presence spans fleets; wsctl cluster lists the three; a
// NATS node killed and started again loses nothing; a killed fleet's clients resume elsewhere;
// an application on any node pushes to a user's connections on every fleet and to one client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import {
    makeTempDir, pidAlive, runProgram, sleep, waitFor, wsctl, wsctlPath, fleetdPath,
} from './lib/fleet.mjs';
import { ChClient } from './lib/channels.mjs';
import { describeRun, startWsload } from './lib/wsload.mjs';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/cluster');
const WAIT_MS = 30000;
const dir = makeTempDir();
const env = { WSF_CLUSTER_DIR: path.join(dir, 'cluster'), WSFLEETD: fleetdPath(), WSCTL: wsctlPath() };

async function cluster(...args) {
    const r = await runProgram('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        SCRIPT, ...args], 90000);
    assert.equal(r.code, 0, `scripts/cluster ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

function pidOf(rel) {
    return Number(fs.readFileSync(path.join(env.WSF_CLUSTER_DIR, rel), 'utf8'));
}

let ep;

// pid and its descendants (the supervisor's workers, the sidecar if any).
function processTree(pid) {
    const out = [pid];
    for (let i = 0; i < out.length; i++) {
        try {
            const kids = fs.readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8');
            out.push(...kids.split(' ').filter((k) => k !== '').map(Number));
        } catch {
            // gone already
        }
    }
    return out;
}

// Subscribers of fleet f on the channels named prefix..., as its own workers count them
// (wsctl channels also lists answers of other fleets' workers on the shared cluster).
async function subscribersOn(f, prefix) {
    const workers = processTree(pidOf(`fleet-${f}/wsfleetd.pid`)).slice(1);
    const r = await wsctl(['--run-dir', ep.fleets[f].run_dir, '--json', 'channels']);
    let n = 0;
    for (const w of r.json?.workers ?? []) {
        for (const [name, k] of Object.entries(workers.includes(w.pid) ? w.channels : {})) {
            n += name.startsWith(prefix) ? k : 0;
        }
    }
    return n;
}

// Waits until the fleets together hold n subscribers on prefix... (wsload starts its
// subscriber i on its (i mod 3)-th URL: 10 of its 30 on each fleet).
async function waitSubscribers(fleets, prefix, n) {
    let counts;
    await waitFor(async () => {
        counts = await Promise.all(fleets.map((f) => subscribersOn(f, prefix)));
        return counts.reduce((a, b) => a + b, 0) === n;
    }, WAIT_MS, `${n} subscribers of ${prefix} on ${fleets}`, () => JSON.stringify(counts));
}

// Waits until fleet f reads n publications on each of the channels after its last one now:
// wsload publishes on (and its subscribers get) more. Offsets are the stream's, shared by all
// channels, so the publications are counted, not the offsets.
async function waitPublications(f, channels, n) {
    for (const channel of channels) {
        await waitChannelPublications(f, channel, n);
    }
}

async function waitChannelPublications(f, channel, n) {
    let h;
    const pubs = async () => {
        h = await wsctl(['--run-dir', ep.fleets[f].run_dir, '--json', 'history', channel,
            '--limit', String(n)]);
        return h.code === 0 && Array.isArray(h.json?.pubs) ? h.json : null;
    };
    const from = (await waitFor(pubs, WAIT_MS, `history of ${channel}`, () => h.stderr)).offset;
    await waitFor(async () => (await pubs())?.pubs.filter((p) => p.offset > from).length >= n,
        WAIT_MS, `${n} more publications on ${channel}`, () => h.stdout + h.stderr);
}

// One publication on each channel before wsload subscribes: a subscriber's position is then a
// publication of its channel. (A position taken on an empty channel is offset 0, and history
// cannot tell whether publications before its oldest kept one were dropped: a resume from 0 is
// answered recovered false once the channel holds anything.)
async function prepublish(channels) {
    for (const channel of channels) {
        await ctlPublish('b', channel, { before: channel });
    }
}

// A connected wsfleet.v1 client of fleet f.
async function client(f) {
    const c = await ChClient.open(`ws://127.0.0.1:${ep.fleets[f].port}/channels`);
    const r = await c.cmd('connect', {});
    assert.ok(r.connect, JSON.stringify(r));
    return c;
}

// Subscribes, retrying while the fleet's workers wait for the stream (error 108).
async function subscribe(c, channel) {
    let r;
    await waitFor(async () => (r = await c.cmd('subscribe', { channel })).subscribe, WAIT_MS,
        `subscribe ${channel}`, () => JSON.stringify(r));
    return r.subscribe;
}

async function publish(c, channel, data) {
    let r;
    await waitFor(async () => (r = await c.cmd('publish', { channel, data })).publish, WAIT_MS,
        `publish ${channel}`, () => JSON.stringify(r));
    return r.publish.offset;
}

async function ctlPublish(f, channel, data) {
    let r;
    await waitFor(async () => (r = await wsctl(['--run-dir', ep.fleets[f].run_dir, 'publish',
        channel, JSON.stringify(data)])).code === 0, WAIT_MS, 'wsctl publish', () => r.stderr);
    return Number(r.stdout.trim());
}

// Everything c received on channel: offsets strictly increasing by the expected ones, no repeat.
function assertExactly(c, channel, offsets, datas) {
    const got = c.pushes.filter((p) => p.channel === channel).map((p) => p.pub);
    assert.deepEqual(got.map((p) => p.offset), offsets);
    assert.deepEqual(got.map((p) => p.data), datas);
}

before(async () => {
    await cluster('up');
    ep = JSON.parse(fs.readFileSync(path.join(env.WSF_CLUSTER_DIR, 'endpoints.json'), 'utf8'));
});

after(async () => {
    await cluster('down');
    // Down is idempotent and leaves nothing behind.
    await cluster('down');
    for (const rel of ['nats-1/nats.pid', 'fleet-a/wsfleetd.pid']) {
        assert.ok(!fs.existsSync(path.join(env.WSF_CLUSTER_DIR, rel)), rel);
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

describe('three fleets on a three-node NATS cluster', () => {
    test('wsctl cluster lists the three fleets (table and --json)', async () => {
        let r;
        await waitFor(async () => {
            r = await wsctl(['--run-dir', ep.fleets.a.run_dir, '--json', 'cluster']);
            // Right after the start a status may be one sent before its workers were up.
            return r.json?.fleets?.length === 3 && r.json.fleets.every((f) => f.workers >= 1);
        }, WAIT_MS, 'three fleets with their workers', () => r.stdout + r.stderr);
        assert.deepEqual(r.json.fleets.map((f) => f.name), ['a', 'b', 'c']);
        for (const f of r.json.fleets) {
            assert.equal(f.state, 'running');
            assert.equal(f.pid, pidOf(`fleet-${f.name}/wsfleetd.pid`));
            assert.ok(f.age_s >= 0 && f.age_s <= 10, JSON.stringify(f));
        }
        // Fleet c, started last, hears each other fleet at that fleet's next status (once a
        // second), so one may be in its table before another: wait for every row.
        let text;
        await waitFor(async () => {
            text = await wsctl(['--run-dir', ep.fleets.c.run_dir, 'cluster']);
            return text.code === 0 && ['a', 'b', 'c'].every(
                (f) => new RegExp(`^${f} +running +\\d+ +\\d+ `, 'm').test(text.stdout));
        }, WAIT_MS, 'a, b and c in c\'s table', () => text.stdout + text.stderr);
        assert.match(text.stdout, /^NAME +STATE +WORKERS +CONNECTIONS +MSGS-IN\/S +ERRORS\/S +AGE$/m);
        assert.equal(text.stdout.trim().split('\n').length, 4, text.stdout);
        const st = await wsctl(['--run-dir', ep.fleets.b.run_dir, '--json', 'status']);
        assert.equal(st.json.name, 'b');
    });

    test('GET /api/cluster on a fleet\'s admin server: the fleets of wsctl --json cluster',
        async () => {
            let doc;
            await waitFor(async () => {
                const r = await fetch(`${ep.fleets.c.admin}/api/cluster`);
                doc = await r.json();
                return r.status === 200 && doc.fleets?.length === 3;
            }, WAIT_MS, 'three fleets in /api/cluster', () => JSON.stringify(doc));
            const ctl = await wsctl(['--run-dir', ep.fleets.c.run_dir, '--json', 'cluster']);
            assert.equal(ctl.code, 0, ctl.stderr);
            assert.deepEqual(doc.fleets.map((f) => f.name), ['a', 'b', 'c']);
            assert.deepEqual(doc.fleets.map((f) => Object.keys(f).sort()),
                ctl.json.fleets.map((f) => Object.keys(f).sort()));
            for (const f of doc.fleets) {
                assert.equal(f.state, 'running');
                assert.equal(f.pid, pidOf(`fleet-${f.name}/wsfleetd.pid`));
                assert.ok(f.workers >= 1 && f.age_s >= 0 && f.age_s <= 10, JSON.stringify(f));
            }
            // A GET, like /api/status: no token needed on loopback; a POST there is refused.
            const post = await fetch(`${ep.fleets.a.admin}/api/cluster`, { method: 'POST' });
            assert.equal(post.status, 405);
        });

    test('a subscriber on a gets, once and in order, what b, c and a NATS client publish',
        async () => {
            const sub = await client('a');
            const pub = await client('b');
            const first = await subscribe(sub, 'xf');
            const offsets = [];
            const datas = [];
            for (let i = 0; i < 5; i++) {
                datas.push({ via: 'client', i });
                offsets.push(await publish(pub, 'xf', datas.at(-1)));
                datas.push({ via: 'wsctl', i });
                offsets.push(await ctlPublish('c', 'xf', datas.at(-1)));
            }
            // An application on node 3 (fleet a's first choice is node 1).
            const nc = await connect({ servers: ep.nats[2].replace(/^nats:\/\/[^@]+@/, ''),
                token: ep.token });
            try {
                const js = nc.jetstream();
                for (let i = 0; i < 5; i++) {
                    datas.push({ via: 'nats', i });
                    const ack = await js.publish('wsf.ch.xf',
                        new TextEncoder().encode(JSON.stringify(datas.at(-1))));
                    offsets.push(ack.seq);
                }
            } finally {
                await nc.close();
            }
            for (let i = 1; i < offsets.length; i++) {
                assert.ok(offsets[i] > offsets[i - 1], `offsets ${offsets}`);
            }
            assert.ok(offsets[0] > first.offset);
            await sub.pubsOf('xf', 15, WAIT_MS);
            await sleep(200); // a duplicate would arrive right behind
            assertExactly(sub, 'xf', offsets, datas);
            sub.close();
            pub.close();
        });

    test('presence spans fleets', async () => {
        const ca = await client('a');
        const cc = await client('c');
        await subscribe(ca, 'roomx');
        await subscribe(cc, 'roomx');
        const ids = [ca.replies.get(1).connect.client, cc.replies.get(1).connect.client].sort();
        let r;
        await waitFor(async () => {
            r = await ca.cmd('presence', { channel: 'roomx' });
            return Object.keys(r.presence?.clients ?? {}).length === 2;
        }, WAIT_MS, 'presence of both', () => JSON.stringify(r));
        assert.deepEqual(Object.keys(r.presence.clients).sort(), ids);
        ca.close();
        cc.close();
    });

    test('an application on node 2 pushes to a user on fleets a and c, and to a client on b',
        async () => {
            // An HS256 token signed with the cluster's secret makes its sub the user.
            const secret = fs.readFileSync(ep.auth_secret_file, 'utf8').trim();
            const b64u = (x) => Buffer.from(x).toString('base64url');
            const token = (sub) => {
                const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${
                    b64u(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600 }))}`;
                return `${input}.${b64u(createHmac('sha256', secret).update(input).digest())}`;
            };
            const as = async (f, user) => {
                const c = await ChClient.open(`ws://127.0.0.1:${ep.fleets[f].port}/channels`);
                const r = await c.cmd('connect', { token: token(user) });
                assert.equal(r.connect?.user, user, JSON.stringify(r));
                return { c, id: r.connect.client };
            };
            const onA = await as('a', 'una');
            const onC = await as('c', 'una');
            const other = await as('b', 'vic');
            const pushes = (x) => x.c.objects.filter((o) => o.push?.message).map((o) => o.push.message);
            // Fleet b prefers node 2, a node 1, c node 3: the push crosses the routes.
            const nc = await connect({ servers: ep.nats[1].replace(/^nats:\/\/[^@]+@/, ''),
                token: ep.token });
            try {
                const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
                // The workers' subscriptions reach the other nodes asynchronously: push until
                // both connections have it, then expect exactly that message and no other.
                await waitFor(async () => {
                    nc.publish('wsf.user.una', enc({ data: { hello: 'una' } }));
                    await nc.flush();
                    await sleep(50);
                    return pushes(onA).length > 0 && pushes(onC).length > 0;
                }, WAIT_MS, 'the push on a and c', () => JSON.stringify([pushes(onA), pushes(onC)]));
                for (const x of [onA, onC]) {
                    assert.deepEqual(pushes(x)[0], { data: { hello: 'una' } });
                }
                nc.publish(`wsf.client.${other.id}`, enc({ data: 'just you' }));
                await nc.flush();
                await other.c.until(() => pushes(other).length > 0, 'the push on b');
                assert.deepEqual(pushes(other), [{ data: 'just you' }]);
                nc.publish(`wsf.client.${onC.id}`, enc({ data: 'c only' }));
                await nc.flush();
                await onC.c.until(() => pushes(onC).some((m) => m.data === 'c only'), 'c only');
                await sleep(200); // anything misrouted would arrive right behind
                assert.ok(pushes(onA).every((m) => m.data.hello === 'una'), JSON.stringify(pushes(onA)));
                assert.equal(pushes(other).length, 1, JSON.stringify(pushes(other)));
            } finally {
                await nc.close();
            }
            for (const x of [onA, onC, other]) {
                x.c.close();
            }
        });

    test('a NATS node SIGKILLed and started again: nothing lost, nothing twice', async () => {
        const subs = await Promise.all(['a', 'b', 'c'].map((f) => client(f)));
        for (const s of subs) {
            await subscribe(s, 'nk');
        }
        const pub = await client('c');
        const offsets = [];
        const datas = [];
        for (let i = 0; i < 5; i++) {
            datas.push({ before: i });
            offsets.push(await publish(pub, 'nk', datas.at(-1)));
        }
        // The node that leads the stream: its loss forces a new leader ([channels] replicas 3
        // made the stream one with three copies).
        const nc = await connect({ servers: ep.nats[1].replace(/^nats:\/\/[^@]+@/, ''),
            token: ep.token });
        let info;
        try {
            info = await (await nc.jetstreamManager()).streams.info('WSF');
        } finally {
            await nc.close();
        }
        assert.equal(info.config.num_replicas, 3);
        const leader = /^n([123])$/.exec(info.cluster?.leader ?? '');
        assert.ok(leader, JSON.stringify(info.cluster));
        const node = leader[1];
        const pid = pidOf(`nats-${node}/nats.pid`);
        process.kill(pid, 'SIGKILL');
        await waitFor(() => !pidAlive(pid), WAIT_MS, `node ${node} gone`);
        for (let i = 0; i < 10; i++) {
            datas.push({ during: i });
            offsets.push(await publish(pub, 'nk', datas.at(-1)));
        }
        await cluster('nats-start', node);
        for (let i = 0; i < 5; i++) {
            datas.push({ after: i });
            offsets.push(await publish(pub, 'nk', datas.at(-1)));
        }
        for (const s of subs) {
            // A subscriber closed by its fleet (4001, 1013) would resume; these must not need to.
            await s.pubsOf('nk', 20, WAIT_MS);
        }
        await sleep(200);
        for (const s of subs) {
            assertExactly(s, 'nk', offsets, datas);
            s.close();
        }
        pub.close();
    });

    test('a fleet SIGKILLed whole: its client resumes on another fleet with nothing lost',
        async () => {
            const c = await client('b');
            const sub = await subscribe(c, 'fr');
            const pub = await client('a');
            const offsets = [];
            const datas = [];
            for (let i = 0; i < 3; i++) {
                datas.push({ n: i });
                offsets.push(await publish(pub, 'fr', datas.at(-1)));
            }
            const got = await c.pubsOf('fr', 3, WAIT_MS);
            const last = got.at(-1).offset;
            // The supervisor and its workers, at once: a host gone.
            const pid = pidOf('fleet-b/wsfleetd.pid');
            const tree = processTree(pid);
            assert.ok(tree.length >= 2, `wsfleetd and its workers: ${tree}`);
            for (const p of tree) {
                process.kill(p, 'SIGKILL');
            }
            const closed = await c.closed;
            assert.ok(closed.code === 1006 || closed.code === 1001, JSON.stringify(closed));
            await waitFor(() => tree.every((p) => !pidAlive(p)), WAIT_MS, 'fleet b gone');
            const missed = [];
            for (let i = 3; i < 8; i++) {
                datas.push({ n: i });
                offsets.push(await publish(pub, 'fr', datas.at(-1)));
                missed.push(offsets.at(-1));
            }
            const again = await ChClient.open(`ws://127.0.0.1:${ep.fleets.c.port}/channels`);
            const r = await again.cmd('connect', { subs: { fr: { epoch: sub.epoch, offset: last } } });
            assert.equal(r.connect?.subs?.fr?.recovered, true, JSON.stringify(r));
            assert.deepEqual(r.connect.subs.fr.pubs.map((p) => p.offset), missed);
            assert.deepEqual(r.connect.subs.fr.pubs.map((p) => p.data), datas.slice(3));
            // Live again after the resume, on the new fleet.
            datas.push({ n: 8 });
            const live = await publish(pub, 'fr', datas.at(-1));
            const [p] = await again.pubsOf('fr', 1, WAIT_MS);
            assert.equal(p.offset, live);
            again.close();
            pub.close();
            await cluster('fleet-start', 'b');
            let cl;
            await waitFor(async () => {
                cl = await wsctl(['--run-dir', ep.fleets.b.run_dir, '--json', 'cluster']);
                return cl.json?.fleets?.find((f) => f.name === 'b')?.pid === pidOf('fleet-b/wsfleetd.pid');
            }, WAIT_MS, 'fleet b back in wsctl cluster', () => cl.stdout + cl.stderr);
        });

    test('wsload over the three fleets: a fleet SIGKILLed whole, its subscribers fail over and '
        + 'resume with nothing lost', async () => {
        const urls = ['a', 'b', 'c'].flatMap((f) => ['--url', `${ep.fleets[f].url}/channels`]);
        const channels = ['wl-0', 'wl-1', 'wl-2'];
        await prepublish(channels);
        const run = startWsload([...urls, '--mode', 'channels', '--json', '--connections', '30',
            '--channels', '3', '--publish-rate', '10', '--duration', '60', '--channel-prefix',
            'wl-']);
        // Once every subscriber is up and publications flow, fleet c goes away at once
        // (supervisor and workers); once its ten subscribers are back on a and b and more
        // publications followed, wsload ends (SIGTERM: the last acks, then every delivery
        // checked).
        try {
            await waitSubscribers(['a', 'b', 'c'], 'wl-', 30);
            await waitPublications('c', channels, 3);
            const pid = pidOf('fleet-c/wsfleetd.pid');
            const tree = processTree(pid);
            for (const p of tree) {
                process.kill(p, 'SIGKILL');
            }
            await waitSubscribers(['a', 'b'], 'wl-', 30);
            await waitPublications('a', channels, 3);
        } finally {
            run.kill('SIGTERM');
        }
        const r = await run.done;
        await cluster('fleet-start', 'c');
        assert.equal(r.code, 0, describeRun(r));
        const j = r.json;
        assert.ok(j, describeRun(r));
        assert.equal(j.lost_publications, 0, describeRun(r));
        assert.equal(j.duplicated, 0, describeRun(r));
        assert.equal(j.out_of_order, 0, describeRun(r));
        assert.equal(j.not_recovered, 0, describeRun(r));
        assert.equal(j.gave_up, 0, describeRun(r));
        // A third of the subscribers were on c: each moved to another fleet and resumed there.
        assert.ok(j.failovers >= 10, describeRun(r));
        assert.ok(j.resumes >= 10, describeRun(r));
        assert.ok(j.publications_acked > 0 && j.deliveries > 0, describeRun(r));
    });

    test('wsload over the three fleets: a fleet shut down (1001 to its clients), its subscribers '
        + 'fail over and resume with nothing lost', async () => {
        const urls = ['a', 'b', 'c'].flatMap((f) => ['--url', `${ep.fleets[f].url}/channels`]);
        const channels = ['sd-0', 'sd-1', 'sd-2'];
        await prepublish(channels);
        const run = startWsload([...urls, '--mode', 'channels', '--json', '--connections', '30',
            '--channels', '3', '--publish-rate', '10', '--duration', '60', '--channel-prefix',
            'sd-']);
        try {
            await waitSubscribers(['a', 'b', 'c'], 'sd-', 30);
            await waitPublications('a', channels, 3);
            const down = await wsctl(['--run-dir', ep.fleets.a.run_dir, 'shutdown', '--drain',
                '1']);
            assert.equal(down.code, 0, down.stderr);
            await waitSubscribers(['b', 'c'], 'sd-', 30);
            await waitPublications('b', channels, 3);
        } finally {
            run.kill('SIGTERM');
        }
        const r = await run.done;
        await waitFor(() => !pidAlive(pidOf('fleet-a/wsfleetd.pid')), WAIT_MS, 'fleet a stopped');
        await cluster('fleet-start', 'a');
        assert.equal(r.code, 0, describeRun(r));
        const j = r.json;
        assert.ok(j, describeRun(r));
        assert.ok((j.close_codes?.['1001'] ?? 0) >= 1, describeRun(r));
        for (const k of ['lost_publications', 'duplicated', 'out_of_order', 'not_recovered',
            'gave_up']) {
            assert.equal(j[k], 0, `${k}: ${describeRun(r)}`);
        }
        assert.ok(j.failovers >= 10, describeRun(r));
        assert.ok(j.resumes >= 10, describeRun(r));
    });
});
