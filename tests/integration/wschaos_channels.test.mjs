// wschaos with channel subscribers beside the echo clients: a worker killed under publications
// (every subscriber resumes, nothing lost), the nats-server sidecar killed by kill-broker (the
// supervisor restarts it, nothing lost), the channel metrics in the JSON report, and nothing left
// running afterwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNothingLeft, wschaos, writeDrill } from './lib/wschaos.mjs';

const DRILL_MS = 120000;

async function runDrill(name, text) {
    const file = writeDrill(name, text);
    const r = await wschaos(['run', '--json', '--seed', '11', file], DRILL_MS);
    assert.ok(r.json, `not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.json.drills.length, 1);
    return { r, d: r.json.drills[0] };
}

function channelDrill(timeline, objectives) {
    return [
        '[drill]',
        'description = channel subscribers under a fault, for the test suite',
        'duration = 6s',
        'tail = 8s',
        '[load]',
        'clients = 20',
        'rate = 5',
        'subscribers = 120',
        'channels = 4',
        'publish_rate = 20',
        '[timeline]',
        ...timeline,
        '[workers]',
        'count = 2',
        'report_interval = 0.5',
        '[rebalance]',
        'enabled = 0',
        '[channels]',
        'publish = client',
        '[objectives]',
        'max lost_publications = 0',
        'max duplicated = 0',
        'max out_of_order = 0',
        'max not_recovered = 0',
        'max channel_data_errors = 0',
        'max not_subscribed = 0',
        'max behind = 0',
        ...objectives,
        '',
    ].join('\n');
}

describe('wschaos channel drills', () => {
    test('a worker killed under publications: its subscribers resume, nothing lost', async () => {
        const { r, d } = await runDrill('small-resume', channelDrill(['2s = kill 0'],
            ['min resumes = 1']));
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(d.error, null);
        const m = d.metrics;
        assert.equal(m.subscribers, 120);
        assert.ok(m.publications_acked > 100, JSON.stringify(m));
        assert.ok(m.deliveries >= m.publications_acked, JSON.stringify(m));
        assert.equal(m.lost_publications, 0);
        assert.equal(m.duplicated, 0);
        assert.equal(m.out_of_order, 0);
        // About half the subscribers were on the killed worker; the publisher may have been.
        assert.ok(m.resumes >= 20 && m.resumes <= 120, `resumes ${m.resumes}`);
        assert.ok(m.resume_p50_ms >= 500 && m.resume_p50_ms <= m.resume_p99_ms,
            JSON.stringify(m));
        assert.equal(m.broker_kills, 0);
        assert.ok(d.objectives.every((o) => o.passed), JSON.stringify(d.objectives));
        assertNothingLeft();
    });

    test('kill-broker: the sidecar is SIGKILLed and restarted, echo unaffected, nothing lost',
        async () => {
            const { r, d } = await runDrill('small-broker', channelDrill(['2s = kill-broker'],
                ['min broker_kills = 1', 'min broker_restarts = 1', 'max disconnects = 0']));
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.equal(d.faults.length, 1, JSON.stringify(d.faults));
            assert.match(d.faults[0].text, /SIGKILL nats-server pid \d+/);
            assert.ok(d.actions.some((a) => /nats-server pid \d+ replaced by pid \d+/.test(a.text)),
                JSON.stringify(d.actions));
            assert.equal(d.metrics.broker_kills, 1);
            assert.ok(d.metrics.broker_restarts >= 1);
            assert.ok(d.metrics.publications_acked > 100, JSON.stringify(d.metrics));
            assert.ok(d.objectives.every((o) => o.passed), JSON.stringify(d.objectives));
            assertNothingLeft();
        });
});
