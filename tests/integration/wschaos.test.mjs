// wschaos against real fleets: the drill list, a small drill that passes, one whose objective
// cannot hold, bad drill files, a fleet that cannot start, and nothing left running afterwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
    assertNothingLeft, drillTmp, wschaos as runWschaos, writeDrill,
} from './lib/wschaos.mjs';
import { slow } from './lib/worker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const drillDir = path.resolve(here, '../../chaos/drills');
const DRILL_MS = 90000;

function wschaos(args, ms = DRILL_MS) {
    return runWschaos(args, ms);
}

// A small fleet and load; `timeline` and `objectives` are INI lines.
function smallDrill(timeline, objectives) {
    return [
        '[drill]',
        'description = a small drill for the test suite',
        'duration = 5s',
        'tail = 8s',
        '[load]',
        'clients = 60',
        'rate = 10',
        '[timeline]',
        ...timeline,
        '[workers]',
        'count = 2',
        'report_interval = 0.5',
        '[rebalance]',
        'enabled = 0',
        '[objectives]',
        ...objectives,
        '',
    ].join('\n');
}

describe('wschaos', () => {
    test('list names every drill in chaos/drills with its description', async () => {
        const r = await wschaos(['list', '--dir', drillDir], slow(10000));
        assert.equal(r.code, 0, r.stderr);
        const names = r.stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]);
        for (const drill of ['kill-one', 'kill-all', 'hang', 'error-spike', 'crash-loop',
            'supervisor-kill', 'slow-clients', 'garbage-clients', 'scale-under-load',
            'rolling-restart']) {
            assert.ok(names.includes(drill), `${drill} missing from:\n${r.stdout}`);
        }
        for (const line of r.stdout.trim().split('\n')) {
            assert.match(line, /^\S+\s+\S.{10,}$/, `no description: ${line}`);
        }
    });

    test('a kill drill that holds its objectives: exit 0, the JSON report, nothing left running',
        async () => {
            const file = writeDrill('small-kill', smallDrill(['1500ms = kill 0'], [
                'min affected = 1',
                'max other_disconnects = 0',
                'max not_back = 0',
                'max echo_errors = 0',
                'max refused = 0',
                // a liveness bound: the clients' backoff is 0.5-1 s, then up to 2 s
                `max reconnect_p99_ms = ${slow(5000) / 1000}s`,
            ]));
            const r = await wschaos(['run', '--json', '--seed', '7', file]);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.ok(r.json, `not JSON:\n${r.stdout}`);
            assert.equal(r.json.passed, true);
            assert.equal(r.json.drills.length, 1);
            const d = r.json.drills[0];
            assert.equal(d.name, 'small-kill');
            assert.equal(d.error, null);
            assert.equal(d.faults.length, 1, JSON.stringify(d.faults));
            assert.match(d.faults[0].text, /SIGKILL worker slot 0 pid \d+/);
            assert.ok(d.faults[0].t_ms >= 1400 && d.faults[0].t_ms < 1500 + slow(5000),
                `${d.faults[0].t_ms}`);
            // The killed worker's clients (about half of 60: which ones is up to their source
            // ports) lost their connection and came back; the other worker's kept theirs.
            assert.ok(d.metrics.affected >= 1 && d.metrics.affected < 60,
                `affected ${d.metrics.affected}`);
            assert.equal(d.metrics.reconnects, d.metrics.affected);
            assert.equal(d.disconnects_by_cause.abnormal, d.metrics.affected);
            // How soon they came back is bounded by the objectives (every one back, p99); the
            // backoff's lower end is exact.
            assert.ok(d.metrics.reconnect_p50_ms >= 500, `p50 ${d.metrics.reconnect_p50_ms}`);
            // Load ran throughout: 60 clients at 10/s for 13 s would echo about 7,800.
            assert.ok(d.metrics.echoed > 100, `echoed ${d.metrics.echoed}`);
            // Messages in flight on the killed worker's connections are lost; how many were in
            // flight depends on the echo round trip at the kill (10/s each, sent on schedule),
            // so only that the count is there.
            assert.ok(Number.isInteger(d.metrics.lost) && d.metrics.lost >= 0, `lost ${d.metrics.lost}`);
            assert.equal(d.metrics.restarts, 1);
            assert.ok(d.actions.some((a) => /slot 0: worker pid \d+ replaced by pid \d+/.test(a.text)),
                JSON.stringify(d.actions));
            assert.equal(d.objectives.length, 6);
            assert.ok(d.objectives.every((o) => o.passed), JSON.stringify(d.objectives));
            assertNothingLeft();
        });

    test('--all runs every drill of --dir, with a summary line per drill', async () => {
        const dir = path.join(drillTmp, 'set');
        fs.mkdirSync(dir);
        const quick = smallDrill([], ['max disconnects = 0', 'min echoed = 100'])
            .replace('duration = 5s', 'duration = 2s');
        fs.writeFileSync(path.join(dir, 'b-second.drill'), quick);
        fs.writeFileSync(path.join(dir, 'a-first.drill'), quick);
        fs.writeFileSync(path.join(dir, 'not-a-drill.txt'), 'ignored');
        const r = await wschaos(['run', '--all', '--dir', dir, '--quiet']);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        const first = r.stdout.indexOf('drill a-first');
        const second = r.stdout.indexOf('drill b-second');
        assert.ok(first >= 0 && second > first, r.stdout);
        assert.match(r.stdout, /PASS\s+a-first/);
        assert.match(r.stdout, /PASS\s+b-second/);
        assert.match(r.stdout, /2 of 2 drills passed/);
        const list = await wschaos(['list', '--dir', dir], slow(10000));
        assert.equal(list.code, 0, list.stderr);
        assert.deepEqual(list.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]),
            ['a-first', 'b-second']);
    });

    test('an objective that does not hold fails the drill: exit 1, FAIL in the text report',
        async () => {
            const file = writeDrill('small-fail', smallDrill(['1s = kill 1'], [
                'max affected = 0',
                'max echo_errors = 0',
            ]));
            const r = await wschaos(['run', '--quiet', file]);
            assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
            assert.match(r.stdout, /FAIL\s+max affected = 0/);
            assert.match(r.stdout, /PASS\s+max echo_errors = 0/);
            assert.match(r.stdout, /result: FAIL/);
        });

    test('a bad drill file is refused before anything starts: exit 2 naming the line', async () => {
        const file = writeDrill('bad', smallDrill(['1s = explode 1'], ['max affected = 0']));
        const r = await wschaos(['run', file], slow(10000));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /bad\.drill:\d+: \[timeline\]/);
        assert.match(r.stderr, /explode/);
        assert.equal(r.stdout, '');
    });

    test('unknown drills and commands are usage errors', async () => {
        let r = await wschaos(['run', '--dir', drillDir, 'no-such-drill'], slow(10000));
        assert.equal(r.code, 2);
        assert.match(r.stderr, /no-such-drill/);
        r = await wschaos(['frobnicate'], slow(10000));
        assert.equal(r.code, 2);
        assert.match(r.stderr, /unknown command/);
        r = await wschaos(['run', '--seed', 'x', 'kill-one'], slow(10000));
        assert.equal(r.code, 2);
    });

    test('a fleet that cannot start fails the drill with the reason', async () => {
        const text = smallDrill(['1s = kill 0'], ['max affected = 100'])
            .replace('count = 2', 'count = many');
        const file = writeDrill('nofleet', text);
        const r = await wschaos(['run', '--json', file], slow(30000));
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.json.passed, false);
        assert.match(r.json.drills[0].error, /wsfleetd/);
        // The drill's directory is kept for a look at the fleet's log, and named.
        const kept = /drill directory kept: (\S+)/.exec(r.stderr);
        assert.ok(kept, r.stderr);
        assert.ok(fs.existsSync(path.join(kept[1], 'wsfleetd.log')), kept[1]);
        fs.rmSync(kept[1], { recursive: true, force: true });
    });
});
