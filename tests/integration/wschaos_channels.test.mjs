// wschaos with channel subscribers beside the echo clients: a worker killed under publications
// (every subscriber resumes, nothing lost), the nats-server sidecar killed by kill-broker (the
// supervisor restarts it, nothing lost), a drill on the local cluster (a follower NATS node killed
// and started again, a whole fleet killed: its clients fail over and resume), the channel metrics
// in the JSON report, and nothing left running afterwards.
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

    test('[drill] cluster = 3: kill-nats-node follower and kill-host on scripts/cluster, nothing '
        + 'lost', async () => {
        const text = [
            '[drill]',
            'description = the local cluster under a NATS node and a fleet killed, for the tests',
            'cluster = 3',
            'duration = 5s',
            'tail = 8s',
            '[load]',
            'clients = 15',
            'rate = 2',
            'subscribers = 90',
            'channels = 3',
            'publish_rate = 10',
            '[timeline]',
            '1s = kill-nats-node follower for=2s',
            '2s = kill-host c',
            '[objectives]',
            'min nats_node_kills = 1',
            'min nats_node_restarts = 1',
            'min host_kills = 1',
            'min resumes = 1',
            'max lost_publications = 0',
            'max duplicated = 0',
            'max out_of_order = 0',
            'max not_recovered = 0',
            'max not_subscribed = 0',
            'max behind = 0',
            'max not_back = 0',
            '',
        ].join('\n');
        const { r, d } = await runDrill('small-cluster', text);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(d.error, null);
        assert.match(r.stderr, /cluster up: NATS node pid \d+, pid \d+, pid \d+; fleets a, b, c/);
        assert.equal(d.faults.length, 2, JSON.stringify(d.faults));
        assert.match(d.faults[0].text, /SIGKILL NATS node [123] pid \d+, a follower/);
        assert.match(d.faults[1].text, /SIGKILL fleet c: wsfleetd pid \d+ and its [1-9]\d* children/);
        assert.ok(d.actions.some((a) => /NATS node [123] started again \(pid \d+\)/.test(a.text)),
            JSON.stringify(d.actions));
        const m = d.metrics;
        assert.equal(m.nats_node_kills, 1);
        assert.equal(m.host_kills, 1);
        // A third of the subscribers and echo clients were on fleet c: they moved and resumed.
        assert.ok(m.resumes >= 30 && m.resumes <= 90, `resumes ${m.resumes}`);
        assert.ok(m.reconnects >= 5, JSON.stringify(m));
        assert.ok(m.subscriber_reconnect_p99_ms > 0 && m.subscriber_reconnect_p99_ms <= m.resume_p99_ms,
            JSON.stringify(m));
        assert.ok(m.publications_acked > 50, JSON.stringify(m));
        // The failover is the longest pause a subscriber saw: more than nothing, less than the run.
        assert.ok(m.delivery_gap_ms > 0 && m.delivery_gap_ms < 13000, JSON.stringify(m));
        assert.equal(m.broker_kills, undefined);
        assert.ok(d.objectives.every((o) => o.passed), JSON.stringify(d.objectives));
        assertNothingLeft();
    });
});
