// wsload --mode channels against a real fleet with its nats-server sidecar: subscribers on several
// channels and a publisher, every acknowledged publication delivered exactly once and in order
// across a SIGKILLed worker (resume with since) and a SIGKILLed sidecar (the worker brings its
// subscribers up to date), and a publisher the namespace refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { signalPid, sleep, startFleet, stopFleet } from './lib/fleet.mjs';
import {
    assertClosedNamespace, assertExactlyOnce, assertQuietRun, describeRun, startChannels,
} from './lib/wsload.mjs';

describe('wsload channels mode against a fleet', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 2, drain_timeout: 1 },
            sections: { channels: { publish: 'client' }, 'namespace closed': { publish: 'none' } },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('a quiet run: every publication to every subscriber, once and in order', async () => {
        await assertQuietRun(fleet.port);
    });

    test('SIGKILL of a worker: its subscribers resume with since, nothing lost', async () => {
        const run = startChannels(fleet.port, ['--connections', '60', '--channels', '3',
            '--publish-rate', '25', '--duration', '6']);
        await sleep(2000);
        const workers = await fleet.workers();
        const victim = workers.find((w) => w.state === 'running' && w.connections > 0) ??
            workers[0];
        assert.ok(victim.pid > 0, JSON.stringify(workers));
        signalPid(victim.pid, 'SIGKILL');
        const r = await run.done;
        assertExactlyOnce(r, 60);
        const j = r.json;
        assert.ok(j.disconnects > 0, describeRun(r));
        assert.equal(j.reconnects, j.disconnects, describeRun(r));
        // Every subscriber that came back resumed (the publisher's reconnect is not a resume).
        assert.ok(j.resumes > 0 && j.resumes <= j.reconnects, describeRun(r));
        assert.equal(j.resume_ms.count, j.resumes);
        assert.ok(j.resume_ms.p50 >= 500, JSON.stringify(j.resume_ms)); // the backoff's floor
    });

    test('SIGKILL of nats-server: subscribers stay connected and are brought up to date', async () => {
        await fleet.waitRunning(2);
        const run = startChannels(fleet.port, ['--connections', '30', '--channels', '3',
            '--publish-rate', '25', '--duration', '7']);
        await sleep(2000);
        const st = await fleet.status();
        assert.ok(st.nats && st.nats.mode === 'sidecar' && st.nats.pid > 0, JSON.stringify(st));
        signalPid(st.nats.pid, 'SIGKILL');
        const r = await run.done;
        assertExactlyOnce(r, 30);
        const j = r.json;
        assert.equal(j.disconnects, 0, describeRun(r));
        const after = await fleet.status();
        assert.ok(after.nats.pid > 0 && after.nats.pid !== st.nats.pid, JSON.stringify(after));
    });

    test('a namespace without client publish: every publish refused, nothing delivered', async () => {
        await assertClosedNamespace(fleet.port);
    });
});
