// Rolling restart: it moves on when its own slot's replacement is up, not at any slot's Hello;
// a slot whose worker cannot start is skipped rather than stalling the roll; and autoscaling,
// paused while a roll runs, works again once it is done.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    makeTempDir, openMany, ownersOf, signalPid, startFleet, stopFleet, waitFor,
} from './lib/fleet.mjs';

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

describe('a rolling restart while another slot crashes', () => {
    let fleet;

    before(async () => {
        // Long drains: the slot being replaced holds clients, so its drain lasts while the
        // crashed slot comes back.
        fleet = await startFleet({ workers: { count: 3, drain_timeout: 8 } });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test("the crashed slot's Hello does not move the roll on; the roll still replaces every worker",
        async () => {
            const before = await fleet.workers();
            const [p0, p1, p2] = [0, 1, 2].map((i) => slotOf(before, i).pid);
            const clients = await openMany(fleet, 60);
            const owners = ownersOf(clients.map((ws) => ws.clientPort), fleet.port, [p0]);
            const onSlot0 = [...owners.values()].filter((pid) => pid === p0).length;
            assert.ok(onSlot0 > 0, 'no client landed on slot 0, whose drain the test needs');

            const roll = await fleet.ctl(['restart', 'all', '--rolling']);
            assert.equal(roll.code, 0, `${roll.stdout}${roll.stderr}`);
            await fleet.waitWorkers((l) => slotOf(l, 0).state === 'draining', 5000,
                'slot 0 draining');
            signalPid(p2, 'SIGKILL');
            const mid = await fleet.waitWorkers((l) => {
                const w = slotOf(l, 2);
                return w.state === 'running' && w.pid > 0 && w.pid !== p2;
            }, 10000, 'slot 2 replaced after its crash');
            const crashed = slotOf(mid, 2).pid;
            assert.equal(slotOf(mid, 0).state, 'draining',
                `slot 0 finished its drain too soon for this test: ${JSON.stringify(mid)}`);
            // The bug: slot 2's Hello made the roll drain slot 1 while slot 0 was still out.
            assert.equal(slotOf(mid, 1).pid, p1, JSON.stringify(mid));
            assert.equal(slotOf(mid, 1).state, 'running', JSON.stringify(mid));

            const done = await fleet.waitWorkers((l) => l.length === 3 &&
                l.every((w) => w.state === 'running' && w.pid > 0) &&
                slotOf(l, 0).pid !== p0 && slotOf(l, 1).pid !== p1, 60000, 'the roll to finish');
            // Slot 2's worker was already spawned after the roll began: it is not replaced again.
            assert.equal(slotOf(done, 2).pid, crashed, JSON.stringify(done));
            assert.equal(fleet.lines(/rolling restart: done/).length, 1, fleet.tail());
            const order = fleet.lines(/rolling restart: (replacing slot|slot \d is back)/)
                .map((line) => /rolling restart: (.*)/.exec(line)[1].replace(/ \(pid \d+\)/, ''));
            assert.deepEqual(order, ['replacing slot 0', 'slot 0 is back', 'replacing slot 1',
                'slot 1 is back'], fleet.tail());
        });
});

describe('a rolling restart over a slot whose worker cannot start', () => {
    let fleet;
    let breakFile;

    before(async () => {
        const wsworker = process.env.WSWORKER;
        assert.ok(wsworker, 'set WSWORKER to the wsworker executable (ctest does this)');
        const dir = makeTempDir();
        breakFile = path.join(dir, 'break-slot-1');
        const wrapper = path.join(dir, 'wsworker-wrapper');
        // Exit 100 ("cannot boot") in slot 1 while the break file exists.
        fs.writeFileSync(wrapper, '#!/bin/sh\n' +
            `if [ "$WSF_SLOT" = 1 ] && [ -e '${breakFile}' ]; then exit 100; fi\n` +
            `exec '${fs.realpathSync(wsworker)}' "$@"\n`, { mode: 0o755 });
        fleet = await startFleet({
            workers: { count: 3, max: 6, drain_timeout: 1 },
            sections: {
                fleet: { worker_bin: wrapper },
                autoscale: {
                    enabled: 1, target_connections: 5, warmup: 1, up_window: 1, down_window: 600,
                },
                rebalance: { enabled: 0 },
            },
        });
        fleet.extraDir = dir;
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        if (fleet?.extraDir) {
            fs.rmSync(fleet.extraDir, { recursive: true, force: true });
        }
        assert.equal(problem, null, problem ?? '');
    });

    test('slot 1 fails and is skipped; slot 2 is still replaced; then autoscaling scales up',
        async () => {
            const before = await fleet.workers();
            const [p0, p1, p2] = [0, 1, 2].map((i) => slotOf(before, i).pid);
            fs.writeFileSync(breakFile, '');
            const roll = await fleet.ctl(['restart', 'all', '--rolling']);
            assert.equal(roll.code, 0, `${roll.stdout}${roll.stderr}`);
            const done = await fleet.waitWorkers((l) => {
                const [w0, w1, w2] = [0, 1, 2].map((i) => slotOf(l, i));
                return w0.state === 'running' && w0.pid !== p0 && w1.state === 'failed' &&
                    w2.state === 'running' && w2.pid > 0 && w2.pid !== p2;
            }, 30000, 'slot 0 and 2 replaced, slot 1 failed');
            assert.notEqual(slotOf(done, 1).pid, p1);
            assert.ok(fleet.lines(/rolling restart: slot 1 has no worker up \(failed\); moving on/)
                .length === 1, fleet.tail());
            await waitFor(() => fleet.lines(/rolling restart: done/).length === 1, 10000,
                'the roll to end', () => fleet.tail());

            // Autoscaling was paused during the roll; load now must scale the fleet up.
            await openMany(fleet, 40);
            const st = await waitFor(async () => {
                const s = await fleet.status();
                return s.workers_desired > 3 ? s : null;
            }, 20000, 'autoscaling to scale up after the roll', () => fleet.tail());
            assert.ok(st.workers_desired <= 6, JSON.stringify(st));
            assert.ok(fleet.lines(/autoscale: up to \d+ workers/).length >= 1, fleet.tail());
        });
});

describe('a reload while a rolling restart runs', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 3, drain_timeout: 3 },
            sections: { worker: { max_message: 1000 } },
        });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    // The --max-message value a worker was started with.
    function maxMessage(pid) {
        const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const at = args.indexOf('--max-message');
        return at < 0 ? null : args[at + 1];
    }

    function writeMaxMessage(n) {
        const text = fs.readFileSync(fleet.configPath, 'utf8');
        fs.writeFileSync(fleet.configPath, text.replace(/max_message = \d+/, `max_message = ${n}`));
    }

    test('workers the roll replaced before the second reload are replaced again', async () => {
        const before = await fleet.workers();
        const [p0, p1] = [0, 1].map((i) => slotOf(before, i).pid);
        await openMany(fleet, 60); // drains last drain_timeout while clients remain
        writeMaxMessage(2000);
        const first = await fleet.ctl(['reload']);
        assert.equal(first.code, 0, `${first.stdout}${first.stderr}`);
        const mid = await fleet.waitWorkers((l) => {
            const [w0, w1] = [0, 1].map((i) => slotOf(l, i));
            return w0.state === 'running' && w0.pid !== p0 && w1.state === 'draining' &&
                w1.pid === p1;
        }, 20000, 'slot 0 replaced and slot 1 draining');
        const replaced = slotOf(mid, 0).pid;
        assert.equal(maxMessage(replaced), '2000');
        writeMaxMessage(3000);
        const second = await fleet.ctl(['reload']);
        assert.equal(second.code, 0, `${second.stdout}${second.stderr}`);

        await waitFor(() => fleet.lines(/rolling restart: done/).length === 1, 60000,
            'the roll to end', () => fleet.tail());
        const done = await fleet.workers();
        assert.equal(done.length, 3);
        for (const w of done) {
            assert.equal(w.state, 'running', JSON.stringify(done));
            assert.equal(maxMessage(w.pid), '3000', `slot ${w.slot}: ${JSON.stringify(done)}`);
        }
        assert.notEqual(slotOf(done, 0).pid, replaced);
    });
});
