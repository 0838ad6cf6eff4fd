// The application backend examples against a real fleet (wsfleetd, its nats-server sidecar and
// its workers): examples/c-backend (libnats) and examples/chat (Node, the `nats` package) each
// find the fleet's NATS from RUNDIR/nats.url and answer connect and rpc; the chat one also pushes
// a whisper to one user and serves its page. wsctl shows the backend's counters, apart from the
// workers' own errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ChClient } from './lib/channels.mjs';
import { startFleet, stopFleet, waitFor } from './lib/fleet.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const C_BACKEND = process.env.WSF_C_BACKEND ||
    path.join(ROOT, 'build', 'release', 'examples', 'c-backend', 'wsfleet-c-backend');
const WAIT_MS = 15000;

let fleet;
const children = new Set();

before(async () => {
    fleet = await startFleet({
        sections: {
            'namespace chat': { publish: 'client', history_size: 100 },
            backend: { connect: 'yes', rpc: 'yes', timeout: 2 },
        },
    });
});

after(async () => {
    for (const c of children) {
        c.kill('SIGKILL');
    }
    const problem = await stopFleet(fleet);
    assert.equal(problem, null);
});

// Spawns a backend and resolves once it printed a line matching ready; the child is killed at
// the end of the suite if still there.
async function startBackend(file, args, ready, opts = {}) {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    children.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
    }));
    await waitFor(() => ready.test(out), WAIT_MS, `${path.basename(file)} ready`, () => out);
    child.output = () => out;
    return child;
}

async function client(body) {
    const c = await ChClient.open(fleet.url('/channels'), { worker: fleet });
    return { c, r: await c.cmd('connect', body) };
}

describe('examples/c-backend', () => {
    test('connect gives the user and the lobby; rpc members, echo and an unknown method', async () => {
        const be = await startBackend(C_BACKEND, ['--run-dir', fleet.runDir], /answering/);
        const ann = await client({ data: { name: 'ann' } });
        assert.equal(ann.r.connect.user, 'ann', JSON.stringify(ann.r));
        assert.deepEqual(ann.r.connect.data, { hello: 'ann' });
        assert.ok(ann.r.connect.subs['chat:lobby']);
        assert.deepEqual((await ann.c.cmd('rpc', { method: 'members' })).rpc.data, { members: ['ann'] });
        assert.deepEqual((await ann.c.cmd('rpc', { method: 'echo', data: [1, 'a'] })).rpc.data, [1, 'a']);
        assert.equal((await ann.c.cmd('rpc', { method: 'nope' })).error.code, 104);

        const anon = await client({});
        assert.equal(anon.r.error.code, 4400);
        assert.equal((await anon.c.closed).code, 4403);
        ann.c.close();

        be.kill('SIGTERM');
        assert.deepEqual(await be.exited, { code: 0, signal: null });
    });
});

describe('examples/chat', () => {
    let dir;
    let be;
    let page;

    before(async () => {
        // A copy beside this suite's node_modules, so that its `import 'nats'` resolves.
        dir = mkdtempSync(path.join(tmpdir(), 'wsf-chat-'));
        cpSync(path.join(ROOT, 'examples', 'chat'), dir, { recursive: true });
        symlinkSync(path.join(HERE, 'node_modules'), path.join(dir, 'node_modules'));
        be = await startBackend(process.execPath, [
            path.join(dir, 'backend.mjs'), '--run-dir', fleet.runDir, '--http', '127.0.0.1:0',
            '--ws', fleet.url('/channels'),
        ], /page on (http:\/\/\S+)/);
        page = /page on (http:\/\/\S+)/.exec(be.output())[1];
    });

    after(async () => {
        if (be) {
            be.kill('SIGTERM');
            await be.exited;
        }
        rmSync(dir, { recursive: true, force: true });
    });

    test('names, members, a whisper pushed to one user, and a room with history', async () => {
        const alice = await client({ data: { name: 'alice' } });
        const bob = await client({ data: { name: 'bob' } });
        assert.equal(alice.r.connect.user, 'alice');
        assert.deepEqual(alice.r.connect.data.rooms, ['chat:lobby', 'chat:random', 'chat:help']);
        assert.deepEqual((await alice.c.cmd('rpc', { method: 'members' })).rpc.data.members, ['alice', 'bob']);

        assert.deepEqual((await alice.c.cmd('rpc', { method: 'whisper', data: { to: 'bob', text: 'psst' } })).rpc.data,
            { sent: true });
        const got = await bob.c.until(() => bob.c.objects.find((o) => o.push?.message), 'whisper');
        assert.deepEqual(got.push.message.data, { whisper: { from: 'alice', text: 'psst' } });
        assert.equal(alice.c.objects.some((o) => o.push?.message), false);
        assert.equal((await alice.c.cmd('rpc', { method: 'whisper', data: { to: 'nobody' } })).error.code, 4404);

        assert.ok((await alice.c.cmd('publish', { channel: 'chat:lobby', data: { from: 'alice', text: 'hi' } })).publish);
        assert.deepEqual((await bob.c.pubsOf('chat:lobby', 1))[0].data, { from: 'alice', text: 'hi' });
        const h = await bob.c.cmd('history', { channel: 'chat:lobby', limit: 10 });
        assert.deepEqual(h.history.pubs.at(-1).data, { from: 'alice', text: 'hi' });

        bob.c.close();
        await waitFor(async () => {
            const r = await alice.c.cmd('rpc', { method: 'members' });
            return r.rpc.data.members.length === 1;
        }, WAIT_MS, 'bob gone from the members');
        alice.c.close();
    });

    test('the page is served with a strict CSP', async () => {
        const res = await fetch(page);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
        assert.match(await res.text(), /wsfleet chat/);
        assert.equal((await fetch(new URL('app.js', page))).status, 200);
        assert.deepEqual(await (await fetch(new URL('config.json', page))).json(), { ws: fleet.url('/channels') });
    });

    test('wsctl shows the backend counters and breakers apart from worker errors', async () => {
        await waitFor(async () => (await fleet.status()).backend?.requests > 0, WAIT_MS, 'backend requests in status');
        const st = await fleet.status();
        assert.equal(st.backend.breakers_open, 0);
        const workers = await fleet.workers();
        assert.ok(workers.every((w) => w.backend.breaker === 'closed'), JSON.stringify(workers));
        assert.ok(workers.every((w) => w.breaker === 'closed'));
    });
});
