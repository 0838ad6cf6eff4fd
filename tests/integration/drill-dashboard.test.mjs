// A drill's progress on a dashboard: `wschaos run --admin URL --admin-token-file FILE` posts the
// drill's start, its objectives, every phase, fault and fleet move, and the objectives' results
// to a real fleet's POST /api/events (kind drill), and the same to the admin server of the fleet
// the drill starts itself.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFleet, stopFleet } from './lib/fleet.mjs';
import { assertNothingLeft, wschaos, writeDrill } from './lib/wschaos.mjs';
import { slow } from './lib/worker.mjs';

const DRILL = [
    '[drill]',
    'description = a short drill for the dashboard test',
    'duration = 4s',
    'tail = 8s',
    '[load]',
    'clients = 20',
    'rate = 10',
    '[timeline]',
    '1s = kill 0',
    '[workers]',
    'count = 2',
    'report_interval = 0.5',
    '[rebalance]',
    'enabled = 0',
    '[objectives]',
    'min affected = 1',
    'max echo_errors = 0',
    '',
].join('\n');

describe('drill progress on the dashboard', () => {
    let fleet;
    let base;

    before(async () => {
        fleet = await startFleet({ workers: { count: 1 } });
        const m = /admin listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(fleet.stderr);
        assert.ok(m, fleet.tail());
        base = m[1];
    });

    after(async () => {
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    test('wschaos run --admin posts the start, objectives, phases, faults and results',
        async () => {
            const file = writeDrill('dash', DRILL);
            const r = await wschaos(['run', '--seed', '3', '--admin', base,
                '--admin-token-file', path.join(fleet.runDir, 'admin.token'), file],
            slow(60000));
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assertNothingLeft();

            // Both dashboards took every event: the given one, and the drill fleet's own.
            const counts = [...r.stderr.matchAll(
                /^wschaos: dash: dashboard (\S+): (\d+) events posted, (\d+) failed$/gm)];
            assert.equal(counts.length, 2, r.stderr);
            const given = counts.find((c) => c[1] === base);
            const own = counts.find((c) => c[1] !== base);
            assert.ok(given && own, r.stderr);
            assert.match(own[1], /^http:\/\/127\.0\.0\.1:\d+$/);
            assert.equal(given[3], '0', r.stderr);
            assert.equal(own[3], '0', r.stderr);
            assert.equal(own[2], given[2]);

            const res = await fetch(`${base}/api/events`);
            assert.equal(res.status, 200);
            const texts = (await res.json()).events.filter((e) => e.kind === 'drill')
                .map((e) => e.text);
            assert.equal(texts.length, Number(given[2]), texts.join('\n'));
            const has = (re) => assert.ok(texts.some((t) => re.test(t)),
                `${re} not among:\n${texts.join('\n')}`);
            assert.equal(texts[0], 'dash: start: a short drill for the dashboard test');
            assert.equal(texts[1], 'dash: objective pending min affected = 1');
            assert.equal(texts[2], 'dash: objective pending max echo_errors = 0');
            has(/^dash: fleet pid \d+ up on 127\.0\.0\.1:\d+ /);
            has(/^dash: 20 clients up in [\d.]+ s$/);
            has(/^dash: [\d.]+s timeline starts \(4\.0 s\)$/);
            has(/^dash: [\d.]+s SIGKILL worker slot 0 pid \d+/);
            has(/^dash: [\d.]+s seen: /);
            has(/^dash: [\d.]+s timeline over$/);
            has(/^dash: objective PASS min affected = 1 \(\d+\)$/);
            has(/^dash: objective PASS max echo_errors = 0 \(0\)$/);
            assert.equal(texts.at(-1), 'dash: result PASS (2 of 2 objectives held)');
        });
});
