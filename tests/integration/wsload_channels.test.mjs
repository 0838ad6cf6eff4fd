// wsload --mode channels against one wsworker and a nats-server of the test's own: every
// acknowledged publication delivered to every subscriber exactly once and in order, also across a
// SIGKILLed and restarted nats-server (the worker brings its subscribers up to date while they stay
// connected); a namespace without client publish refuses every publication; a worker without
// channels answers the upgrade 404, which wsload reports instead of counting nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { channelsConfig } from './lib/channels.mjs';
import { startNats } from './lib/nats.mjs';
import { sleep, startWorker, stopWorker } from './lib/worker.mjs';
import {
    assertClosedNamespace, assertExactlyOnce, assertQuietRun, describeRun, startChannels,
} from './lib/wsload.mjs';

describe('wsload channels mode against a worker', () => {
    let nats;
    let w;

    before(async () => {
        nats = await startNats();
        const urlFile = nats.writeUrlFile();
        w = await startWorker({
            flags: ['--nats-url-file', urlFile, '--channels-config',
                channelsConfig('[channels]\npublish = client\n[namespace closed]\npublish = none\n')],
        });
    });

    after(async () => {
        const problem = await stopWorker(w);
        await nats?.kill();
        await nats?.stop();
        assert.equal(problem, null, problem ?? '');
    });

    test('a quiet run: every publication to every subscriber, once and in order', async () => {
        await assertQuietRun(w.port);
    });

    test('nats-server SIGKILLed and restarted: subscribers stay and catch up', async () => {
        const run = startChannels(w.port, ['--connections', '30', '--channels', '3',
            '--publish-rate', '25', '--duration', '7']);
        await sleep(2000);
        await nats.kill();
        await sleep(500);
        await nats.start(); // same port and store: the stream and its epoch survive
        const r = await run.done;
        assertExactlyOnce(r, 30);
        const j = r.json;
        assert.equal(j.disconnects, 0, describeRun(r));
        assert.equal(j.epoch_changes, 0, describeRun(r));
        // Published while the broker was down: refused with 108, never acknowledged.
        assert.ok(j.publish_errors > 0, describeRun(r));
        assert.equal(j.publications_acked + j.publish_errors, j.published, describeRun(r));
    });

    test('a namespace without client publish: every publish refused, nothing delivered', async () => {
        await assertClosedNamespace(w.port);
    });
});

describe('wsload channels mode against a worker without channels', () => {
    let w;

    before(async () => {
        w = await startWorker();
    });

    after(async () => {
        const problem = await stopWorker(w);
        assert.equal(problem, null, problem ?? '');
    });

    test('the upgrade is refused: no subscriber subscribes and the run fails', async () => {
        const r = await startChannels(w.port, ['--connections', '3', '--channels', '1',
            '--duration', '1', '--no-reconnect']).done;
        const j = r.json;
        assert.ok(j, describeRun(r));
        assert.equal(r.code, 1, describeRun(r));
        assert.equal(j.not_subscribed, 3, describeRun(r));
        assert.equal(j.by_cause.handshake, 3, describeRun(r));
        assert.equal(j.upgrades, 0);
        assert.equal(j.publications_acked, 0);
    });
});
