// wsfleetd's side of channels: the nats-server sidecar (0600 URL with a token in the 0700 run dir,
// restarted on the same port with its history after a SIGKILL, shown by wsctl status), an external
// broker from [nats] url instead of a sidecar, wsctl publish/history/channels through wsfleetd's
// own NATS connection, and the one-line refusal of a bad [namespace] key. The `nats` package is
// the independent client: it proves the token works and answers the wsf.admin.channels gather.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connect, JSONCodec } from 'nats';
import {
    fleetdPath, iniText, makeTempDir, pidAlive, runProgram, signalPid, sleep, startFleet,
    stopFleet,
} from './lib/fleet.mjs';
import { WebSocket } from './lib/worker.mjs';

const WAIT_MS = 20000;
const POLL_MS = 50;

function modeOf(p) {
    return fs.statSync(p).mode & 0o7777;
}

// The command line of `pid`, NUL-separated fields joined by spaces; '' when it is gone.
function cmdline(pid) {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
        return '';
    }
}

// Children of `ppid` whose executable's name is `name`.
function childrenNamed(ppid, name) {
    const found = [];
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        let stat;
        try {
            stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        } catch {
            continue;
        }
        const open = stat.indexOf('(');
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(open + 1, close);
        const fields = stat.slice(close + 2).split(' ');
        if (comm === name && Number(fields[1]) === ppid) {
            found.push(Number(entry));
        }
    }
    return found;
}

// Polls fleet status until pred(status) holds; returns it, or throws with the last one.
async function waitStatus(fleet, pred, what) {
    const deadline = Date.now() + WAIT_MS;
    let last;
    for (;;) {
        last = await fleet.status();
        if (pred(last)) {
            return last;
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}\n` +
                `${fleet.tail()}`);
        }
        await sleep(POLL_MS);
    }
}

// wsctl publish, expected to succeed: the offset it printed.
async function publish(fleet, channel, data, json = false) {
    const r = await fleet.ctl([...(json ? ['--json'] : []), 'publish', channel, data]);
    assert.equal(r.code, 0, `publish: exit ${r.code}\n${r.stdout}${r.stderr}`);
    if (json) {
        assert.deepEqual(Object.keys(r.json), ['offset']);
        return r.json.offset;
    }
    assert.match(r.stdout, /^\d+\n$/);
    return Number(r.stdout);
}

// Publishes until wsfleetd's own connection and the stream are up (the stream is ensured right
// after connecting, asynchronously), then returns that first offset.
async function firstPublish(fleet, channel, data) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        const r = await fleet.ctl(['publish', channel, data]);
        if (r.code === 0) {
            return Number(r.stdout);
        }
        if (Date.now() >= deadline) {
            throw new Error(`publish never succeeded: ${r.code} ${r.stderr}\n${fleet.tail()}`);
        }
        await sleep(POLL_MS);
    }
}

async function history(fleet, channel, extra = []) {
    const r = await fleet.ctl(['--json', 'history', channel, ...extra]);
    assert.equal(r.code, 0, `history: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.json;
}

// Starts a nats-server of the test's own with JetStream, on a port it picks; resolves with
// { child, port, url }.
async function startOwnBroker(dir) {
    const portsDir = path.join(dir, 'ports');
    fs.mkdirSync(portsDir);
    const child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd',
        path.join(dir, 'js'), '--ports_file_dir', portsDir], { stdio: 'ignore' });
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        const file = path.join(portsDir, `nats-server_${child.pid}.ports`);
        if (fs.existsSync(file)) {
            try {
                const port = Number(/:(\d+)"/.exec(JSON.parse(fs.readFileSync(file, 'utf8'))
                    .nats[0] + '"')[1]);
                return { child, port, url: `nats://127.0.0.1:${port}` };
            } catch {
                // being written
            }
        }
        if (Date.now() >= deadline || child.exitCode !== null) {
            child.kill('SIGKILL');
            throw new Error('the test\'s nats-server did not start');
        }
        await sleep(POLL_MS);
    }
}

describe('channels: the sidecar and wsctl', () => {
    let fleet;
    let nc;
    after(async () => {
        if (nc) {
            await nc.close();
        }
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    test('the sidecar runs before the workers, its URL is 0600 in the 0700 run dir, the token '
        + 'works', async () => {
        fleet = await startFleet({ sections: { 'namespace chat': { publish: 'client' } } });
        assert.equal(modeOf(fleet.runDir), 0o700);
        const urlFile = path.join(fleet.runDir, 'nats.url');
        assert.equal(modeOf(urlFile), 0o600);
        assert.equal(modeOf(path.join(fleet.runDir, 'nats.conf')), 0o600);
        assert.equal(modeOf(path.join(fleet.runDir, 'channels.ini')), 0o600);
        const url = fs.readFileSync(urlFile, 'utf8').trim();
        const m = /^nats:\/\/([0-9a-f]{32})@127\.0\.0\.1:(\d+)$/.exec(url);
        assert.ok(m, `nats.url holds ${url}`);
        const st = await waitStatus(fleet, (s) => s.nats?.state === 'running', 'sidecar running');
        assert.equal(st.nats.mode, 'sidecar');
        assert.equal(st.nats.port, Number(m[2]));
        assert.equal(st.nats.restarts, 0);
        assert.equal(st.nats.stream, 'WSF');
        assert.match(cmdline(st.nats.pid), /nats-server -c .*nats\.conf/);
        // It started before the first worker.
        const started = fleet.stderr.indexOf(`nats-server: started pid ${st.nats.pid}`);
        assert.ok(started >= 0 && started < fleet.stderr.indexOf(' started worker pid '));
        // Every worker is told where the broker and the settings are, never the token itself.
        for (const w of await fleet.workers()) {
            const cmd = cmdline(w.pid);
            assert.ok(cmd.includes(`--nats-url-file ${urlFile} --channels-config `
                + `${path.join(fleet.runDir, 'channels.ini')} --nats-stream WSF`), cmd);
            assert.ok(!cmd.includes(m[1]), 'the token is on a command line');
        }
        // The token is what admits a client; none is refused.
        await assert.rejects(connect({ servers: `127.0.0.1:${m[2]}`, reconnect: false }));
        nc = await connect({ servers: `127.0.0.1:${m[2]}`, token: m[1] });
        assert.equal(nc.isClosed(), false);
    });

    test('wsctl publish prints increasing offsets and wsctl history shows them', async () => {
        const o1 = await firstPublish(fleet, 'news', '{"n": 1}');
        const o2 = await publish(fleet, 'news', '[2, "two"]');
        const other = await publish(fleet, 'chat:lobby', '"elsewhere"');
        const o3 = await publish(fleet, 'news', '3', true);
        assert.ok(o1 > 0 && o2 > o1 && other > o2 && o3 > other, `${o1} ${o2} ${other} ${o3}`);
        const h = await history(fleet, 'news');
        assert.equal(h.channel, 'news');
        assert.match(h.epoch, /^[0-9a-f]{16}$/);
        assert.equal(h.offset, o3);
        assert.deepEqual(h.pubs, [
            { offset: o1, data: { n: 1 } },
            { offset: o2, data: [2, 'two'] },
            { offset: o3, data: 3 },
        ]);
        const last = await history(fleet, 'news', ['--limit', '1']);
        assert.deepEqual(last.pubs, [{ offset: o3, data: 3 }]);
        const text = await fleet.ctl(['history', 'news']);
        assert.equal(text.code, 0);
        assert.equal(text.stdout, `channel news  epoch ${h.epoch}  offset ${o3}  (3 publications)\n`
            + `${o1} {"n":1}\n${o2} [2,"two"]\n${o3} 3\n`);
        // What wsctl publishes is in the stream applications read.
        const jsm = await nc.jetstreamManager();
        const got = await jsm.streams.getMessage('WSF', { seq: o2 });
        assert.equal(got.subject, 'wsf.ch.news');
        assert.deepEqual(JSONCodec().decode(got.data), [2, 'two']);
    });

    test('wsctl history gives the newest publications among other channels\' ones', async () => {
        // Applications publish straight into the stream: 30 on one channel, 40 others' between
        // each two of them, so the channel's newest are spread far back.
        const js = nc.jetstream();
        const mine = [];
        for (let i = 0; i < 30; i++) {
            for (let k = 0; k < 40; k++) {
                await js.publish('wsf.ch.noise', JSONCodec().encode(k));
            }
            mine.push((await js.publish('wsf.ch.sparse', JSONCodec().encode({ i }))).seq);
        }
        const five = await history(fleet, 'sparse', ['--limit', '5']);
        assert.deepEqual(five.pubs.map((p) => p.offset), mine.slice(-5));
        assert.deepEqual(five.pubs.map((p) => p.data.i), [25, 26, 27, 28, 29]);
        assert.equal(five.offset, mine.at(-1));
        const all = await history(fleet, 'sparse', ['--limit', '1000']);
        assert.deepEqual(all.pubs.map((p) => p.offset), mine);
        const none = await history(fleet, 'never-used');
        assert.deepEqual(none.pubs, []);
        assert.equal(none.offset, 0);
    });

    test('wsctl publish from stdin, and usage errors exit 2', async () => {
        const child = spawn(process.env.WSCTL, ['--run-dir', fleet.runDir, 'publish', 'news', '-'],
            { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
        child.stdin.end('{\n  "from": "stdin"\n}\n');
        const code = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(code, 0);
        const off = Number(out);
        const h = await history(fleet, 'news');
        assert.deepEqual(h.pubs.at(-1), { offset: off, data: { from: 'stdin' } });
        for (const args of [['publish', 'news', '{"a":'], ['publish', 'bad channel', '1'],
            ['history', 'news', '--limit', '0']]) {
            const r = await fleet.ctl(args);
            assert.equal(r.code, 2, `${args.join(' ')}: ${r.code} ${r.stderr}`);
        }
        // A namespace that is not defined is refused, as the workers refuse it.
        for (const args of [['publish', 'chta:lobby', '1'], ['history', 'chta:lobby']]) {
            const r = await fleet.ctl(args);
            assert.equal(r.code, 1, `${args.join(' ')}: ${r.code} ${r.stderr}`);
            assert.match(r.stderr, /namespace 'chta' is not defined \(no \[namespace chta\]\)/);
        }
    });

    test('wsctl channels gathers wsf.admin.channels answers', async () => {
        // A responder of the test's own stands in for a worker: it answers like one would.
        const sub = nc.subscribe('wsf.admin.channels');
        const fakePid = 999999;
        (async () => {
            for await (const m of sub) {
                m.respond(JSONCodec().encode({ pid: fakePid, slot: 7, channels: { news: 3, 'chat:lobby': 1 } }));
            }
        })();
        await nc.flush();
        const r = await fleet.ctl(['--json', 'channels']);
        sub.unsubscribe();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.running, 2);
        // The running workers answer, and the gather ends with them; a stranger's answer (the
        // test's responder) is listed when it came first, never waited for.
        const fake = r.json.workers.find((w) => w.pid === fakePid);
        const pids = (await fleet.workers()).map((w) => w.pid);
        for (const pid of pids) {
            assert.ok(r.json.workers.some((w) => w.pid === pid), `${pid} did not answer`);
        }
        assert.equal(r.json.answered, 2 + (fake ? 1 : 0));
        if (fake) {
            assert.deepEqual(fake, { pid: fakePid, slot: 7,
                channels: { news: 3, 'chat:lobby': 1 } });
        }
        const text = await fleet.ctl(['channels']);
        assert.equal(text.code, 0);
        assert.match(text.stdout, /^CHANNEL +SUBSCRIBERS +PER WORKER/);
        assert.match(text.stdout, /running workers answered\n$/);
    });

    test('a SIGKILLed sidecar is restarted on the same port with its history', async () => {
        const before = await fleet.status();
        const h0 = await history(fleet, 'news');
        assert.ok(signalPid(before.nats.pid, 'SIGKILL'));
        const st = await waitStatus(fleet, (s) => s.nats.state === 'running' &&
            s.nats.pid > 0 && s.nats.pid !== before.nats.pid, 'a new sidecar');
        assert.equal(st.nats.port, before.nats.port);
        assert.equal(st.nats.restarts, 1);
        assert.ok(!pidAlive(before.nats.pid));
        // wsfleetd's connection comes back by itself; the history survived (file store).
        const o = await firstPublish(fleet, 'news', '"after"');
        assert.ok(o > h0.offset);
        const h = await history(fleet, 'news');
        assert.equal(h.epoch, h0.epoch);
        assert.deepEqual(h.pubs.slice(0, h0.pubs.length), h0.pubs);
        assert.deepEqual(h.pubs.at(-1), { offset: o, data: 'after' });
        // The test's own client reconnected too (same port, same token).
        const deadline = Date.now() + WAIT_MS;
        while (nc.isClosed() === false && Date.now() < deadline) {
            try {
                await nc.flush();
                break;
            } catch {
                await sleep(POLL_MS);
            }
        }
        assert.equal(nc.isClosed(), false);
    });

    test('the sidecar stops after the workers, with the fleet', async () => {
        const st = await fleet.status();
        const msg = await stopFleet(fleet);
        fleet = undefined;
        assert.equal(msg, null, msg ?? '');
        assert.ok(!pidAlive(st.nats.pid), 'the sidecar outlived wsfleetd');
    });
});

// Opens a /channels client that connects and subscribes to `channel`; resolves once subscribed.
function subscriber(fleet, channel) {
    const ws = fleet.track(new WebSocket(fleet.url('/channels'), 'wsfleet.v1'));
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no subscribe reply')), WAIT_MS);
        ws.on('error', reject);
        ws.on('open', () => {
            ws.send('{"id":1,"connect":{}}\n' +
                `{"id":2,"subscribe":{"channel":"${channel}"}}`);
        });
        ws.on('message', (data) => {
            for (const line of data.toString().split('\n')) {
                const m = JSON.parse(line);
                if (m.id === 2) {
                    clearTimeout(timer);
                    if (m.error) {
                        reject(new Error(JSON.stringify(m.error)));
                    } else {
                        resolve(ws);
                    }
                }
            }
        });
    });
}

describe('channels: workers, reload and the stream', () => {
    let fleet;
    after(async () => {
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    test('the stream keeps the largest history over the namespaces', async () => {
        fleet = await startFleet({ sections: { channels: { history_size: 7, history_ttl: 60 },
            'namespace big': { history_size: 40 }, 'namespace long': { history_ttl: 900 } } });
        await firstPublish(fleet, 'big:x', '1');
        const url = fs.readFileSync(path.join(fleet.runDir, 'nats.url'), 'utf8');
        const m = /^nats:\/\/([0-9a-f]+)@(.*)$/.exec(url);
        const nc = await connect({ servers: m[2], token: m[1] });
        try {
            const info = await (await nc.jetstreamManager()).streams.info('WSF');
            assert.equal(info.config.max_msgs_per_subject, 40);
            assert.equal(info.config.max_age, 900 * 1e9);
            assert.deepEqual(info.config.subjects, ['wsf.ch.>']);
        } finally {
            await nc.close();
        }
        const ini = fs.readFileSync(path.join(fleet.runDir, 'channels.ini'), 'utf8');
        assert.match(ini, /\[namespace big\]\nhistory_size = 40\nhistory_ttl = 60\n/);
        assert.match(ini, /\[namespace long\]\nhistory_size = 7\nhistory_ttl = 900\n/);
    });

    test('a reload that changes [channels] rewrites channels.ini and restarts the workers',
        async () => {
            const before = await fleet.workers();
            fs.writeFileSync(fleet.configPath, fs.readFileSync(fleet.configPath, 'utf8')
                .replace('history_size = 7', 'history_size = 9'));
            const r = await fleet.ctl(['reload']);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /restarting workers one at a time/);
            const ini = fs.readFileSync(path.join(fleet.runDir, 'channels.ini'), 'utf8');
            assert.match(ini, /^\[channels\]\nhistory_size = 9\n/);
            const oldPids = new Set(before.map((w) => w.pid));
            await fleet.waitWorkers((list) => list.length === 2 && list.every((w) =>
                w.state === 'running' && !oldPids.has(w.pid)), WAIT_MS, 'workers restarted');
            // [nats] is fixed for wsfleetd's life.
            fs.appendFileSync(fleet.configPath, '\n[nats]\nstream = OTHER\n');
            const refused = await fleet.ctl(['reload']);
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /\[nats\] cannot change while wsfleetd runs/);
        });

    test('wsctl channels lists a channel once a client subscribes', async () => {
        const ws = await subscriber(fleet, 'big:room');
        const deadline = Date.now() + WAIT_MS;
        let r;
        do {
            r = await fleet.ctl(['--json', 'channels']);
            assert.equal(r.code, 0, r.stderr);
        } while (r.json.channels['big:room'] !== 1 && Date.now() < deadline && !(await sleep(POLL_MS)));
        assert.equal(r.json.channels['big:room'], 1, JSON.stringify(r.json));
        assert.equal(r.json.answered, 2);
        assert.equal(r.json.running, 2);
        const owner = r.json.workers.filter((w) => w.channels['big:room'] === 1);
        assert.equal(owner.length, 1);
        const pids = (await fleet.workers()).map((w) => w.pid);
        assert.ok(pids.includes(owner[0].pid));
        ws.close();
    });
});

describe('channels: a supervisor killed outright', () => {
    const dir = makeTempDir();
    const runDir = path.join(dir, 'run');
    let first;
    let second;
    after(async () => {
        if (first) {
            await first.stop();
        }
        const msg = await stopFleet(second);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(msg, null, msg ?? '');
    });

    test('takes its sidecar along; the next one brings it back on the same port and token',
        async () => {
            first = await startFleet({ runDir });
            const o = await firstPublish(first, 'kept', '"before"');
            const st = await first.status();
            const url = fs.readFileSync(path.join(runDir, 'nats.url'), 'utf8');
            assert.ok(signalPid(first.pid, 'SIGKILL'));
            await first.exited;
            await first.stop(); // its orphaned workers, by PID
            first = undefined;
            const deadline = Date.now() + WAIT_MS;
            while (pidAlive(st.nats.pid) && Date.now() < deadline) {
                await sleep(POLL_MS);
            }
            assert.ok(!pidAlive(st.nats.pid), 'the sidecar outlived its supervisor');
            second = await startFleet({ runDir });
            const st2 = await waitStatus(second, (s) => s.nats.state === 'running',
                'the new sidecar');
            assert.notEqual(st2.nats.pid, st.nats.pid);
            assert.equal(st2.nats.port, st.nats.port);
            assert.equal(fs.readFileSync(path.join(runDir, 'nats.url'), 'utf8'), url);
            assert.deepEqual(fs.readdirSync(runDir).filter((f) => f.endsWith('.ports')),
                [`nats-server_${st2.nats.pid}.ports`]);
            const o2 = await firstPublish(second, 'kept', '"after"');
            const h = await history(second, 'kept');
            assert.deepEqual(h.pubs, [{ offset: o, data: 'before' }, { offset: o2, data: 'after' }]);
        });
});

describe('channels: an external broker', () => {
    let fleet;
    let broker;
    const dir = makeTempDir();
    after(async () => {
        const msg = await stopFleet(fleet);
        if (broker && broker.child.exitCode === null) {
            broker.child.kill('SIGKILL');
        }
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(msg, null, msg ?? '');
    });

    test('[nats] url: no sidecar, wsctl publishes there; a broker down is exit 1', async () => {
        broker = await startOwnBroker(dir);
        fleet = await startFleet({ sections: { nats: { url: broker.url } } });
        assert.ok(!fs.existsSync(path.join(fleet.runDir, 'nats.conf')), 'a sidecar was set up');
        const st = await waitStatus(fleet, (s) => s.nats?.connected, 'connected to the broker');
        assert.equal(st.nats.mode, 'external');
        assert.equal(st.nats.state, 'external');
        assert.equal(st.nats.pid, 0);
        assert.deepEqual(childrenNamed(fleet.pid, 'nats-server'), []);
        assert.equal(fs.readFileSync(path.join(fleet.runDir, 'nats.url'), 'utf8'), broker.url);
        assert.equal(modeOf(path.join(fleet.runDir, 'nats.url')), 0o600);
        const o = await firstPublish(fleet, 'ext', '{"x":1}');
        const nc = await connect({ servers: broker.url });
        const got = await (await nc.jetstreamManager()).streams.getMessage('WSF', { seq: o });
        assert.equal(got.subject, 'wsf.ch.ext');
        await nc.close();
        broker.child.kill('SIGKILL');
        await new Promise((resolve) => broker.child.on('exit', resolve));
        await waitStatus(fleet, (s) => !s.nats.connected, 'the broker gone');
        const r = await fleet.ctl(['publish', 'ext', '2']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /NATS is not available/);
        const h = await fleet.ctl(['history', 'ext']);
        assert.equal(h.code, 1);
    });
});

describe('channels: configuration', () => {
    test('without nats-server and [nats] url, wsfleetd refuses to start: one line, exit 2',
        async (t) => {
            // Hides the binary in a mount namespace of this test's own, nowhere else.
            const probe = await runProgram('unshare', ['-m', 'true']);
            if (probe.code !== 0) {
                t.skip(`needs mount namespaces (unshare -m): ${probe.stderr.trim()}`);
                return;
            }
            const dir = makeTempDir();
            try {
                const run = path.join(dir, 'run');
                const r = await runProgram('unshare', ['-m', 'sh', '-c',
                    'for f in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/sbin/nats-server '
                    + '/usr/local/bin/nats-server; do [ -e "$f" ] && mount --bind /dev/null "$f"; '
                    + 'done; exec "$0" --foreground --listen 127.0.0.1:0 --run-dir "$1"',
                    fleetdPath(), run], 20000);
                assert.equal(r.code, 2, r.stderr);
                const lines = r.stderr.split('\n').filter((l) => l !== '');
                assert.equal(lines.length, 1, r.stderr);
                assert.match(lines[0], /nats-server not found .*scripts\/install-deps/);
                assert.ok(!fs.existsSync(run), 'the run dir was made');
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

    test('a bad [namespace] key is one line and exit 2', async () => {
        const dir = makeTempDir();
        try {
            const ini = path.join(dir, 'bad.ini');
            fs.writeFileSync(ini, iniText({ channels: { history_size: 10 },
                'namespace chat': { publish: 'client', colour: 'blue' } }));
            const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
                '127.0.0.1:0', '--run-dir', path.join(dir, 'run')], 20000);
            assert.equal(r.code, 2, r.stderr);
            const lines = r.stderr.split('\n').filter((l) => l !== '');
            assert.equal(lines.length, 1, r.stderr);
            assert.match(lines[0], /bad\.ini:\d+: \[namespace chat\] colour: /);
            assert.ok(!fs.existsSync(path.join(dir, 'run', 'nats.url')));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
