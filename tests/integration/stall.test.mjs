// A supervisor that was not running (SIGSTOP here; a paused VM or a debugger alike) judges no
// worker hung on the time it did not see; a worker that really stops reporting is still caught.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { echo } from './lib/worker.mjs';
import {
    countCloses, openMany, pidAlive, signalPid, sleep, startFleet, stopFleet,
} from './lib/fleet.mjs';

const HANG_S = 3;
const KILL_GRACE_S = 1;

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

describe('a stopped supervisor', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({
            workers: { count: 2, hang_timeout: HANG_S, kill_grace: KILL_GRACE_S,
                report_interval: 0.5 },
        });
    });

    after(async () => {
        signalPid(fleet?.pid, 'SIGCONT');
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test(`SIGSTOP for ${3 * HANG_S} s, SIGCONT: no worker restarted, no client disconnected`,
        async () => {
            const before = await fleet.workers();
            const codes = new Map();
            const clients = await openMany(fleet, 40);
            for (const ws of clients) {
                countCloses(ws, codes);
            }
            signalPid(fleet.pid, 'SIGSTOP');
            try {
                await sleep(3 * HANG_S * 1000); // the workers report on into its socket
            } finally {
                signalPid(fleet.pid, 'SIGCONT');
            }
            // The supervisor answers again; then give a wrong judgement every chance to show:
            // the old one struck at the first tick, SIGKILL follows kill_grace later.
            await fleet.workers();
            await sleep((HANG_S + KILL_GRACE_S) * 1000 + 500);
            const afterList = await fleet.workers();
            for (const w of before) {
                const now = slotOf(afterList, w.slot);
                assert.equal(now.pid, w.pid, `slot ${w.slot} was restarted: ${fleet.tail()}`);
                assert.equal(now.restarts, w.restarts, JSON.stringify(afterList));
                assert.equal(now.state, 'running', JSON.stringify(afterList));
            }
            assert.deepEqual(fleet.lines(/hung, SIGTERM/), [], fleet.tail());
            assert.deepEqual([...codes], [], 'clients were disconnected');
            for (const ws of clients) {
                assert.equal((await echo(ws, 'still here')).data.toString(), 'still here');
            }
            for (const ws of clients) {
                ws.terminate();
                fleet.clients.delete(ws);
            }
        });

    test('a worker that is itself stopped is still found hung and replaced', async () => {
        const before = await fleet.workers();
        const victim = slotOf(before, 0).pid;
        const other = slotOf(before, 1).pid;
        const stoppedAt = Date.now();
        signalPid(victim, 'SIGSTOP');
        try {
            const list = await fleet.waitWorkers((l) => {
                const w = slotOf(l, 0);
                return w.state === 'running' && w.pid > 0 && w.pid !== victim;
            }, 30000, 'slot 0 replaced after its worker stopped');
            assert.ok(Date.now() - stoppedAt >= HANG_S * 1000);
            assert.equal(slotOf(list, 1).pid, other, 'the healthy slot was restarted too');
            assert.equal(fleet.lines(new RegExp(`worker pid ${victim} sent no report for \\d+ ms: ` +
                'hung, SIGTERM')).length, 1, fleet.tail());
            assert.equal(pidAlive(victim), false);
        } finally {
            signalPid(victim, 'SIGCONT');
        }
    });
});
