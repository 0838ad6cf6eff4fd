// A process that speaks the worker protocol and claims a slot it is not the child of (a real
// wsworker started by the test with the slot's WSF_ variables) is ignored: its Hello and
// Reports are logged once and dropped, and the slot's commands still reach the slot's own
// worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { orNull, spawned, workerPath } from './lib/worker.mjs';
import {
    pidAlive, signalPid, sleep, startFleet, stopFleet,
} from './lib/fleet.mjs';

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

async function waitFor(pred, ms, what, detail = () => '') {
    const deadline = Date.now() + ms;
    while (!pred()) {
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
        }
        await sleep(50);
    }
}

describe('a stranger claiming a slot', () => {
    let fleet;
    let stranger;
    let strangerLog = '';
    let strangerExit;

    before(async () => {
        fleet = await startFleet({ workers: { count: 2, drain_timeout: 2, kill_grace: 5 } });
    });

    after(async () => {
        if (stranger && !stranger.exitCode && stranger.signalCode === null) {
            stranger.kill('SIGKILL');
            await strangerExit;
        }
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test("its Hello and Reports are ignored; a drain reaches the slot's own worker", async () => {
        const before = await fleet.workers();
        const own = slotOf(before, 0);
        stranger = spawn(workerPath(), ['--listen', '127.0.0.1:0', '--report-interval', '0.05'], {
            stdio: ['ignore', 'ignore', 'pipe'],
            env: {
                ...process.env,
                WSF_SUPERVISOR: `ipc://${path.join(fleet.runDir, 'workers')}`,
                WSF_SLOT: '0',
                WSF_GENERATION: String(own.generation),
            },
        });
        strangerExit = new Promise((resolve) => stranger.on('exit', resolve));
        stranger.stderr.setEncoding('utf8').on('data', (c) => { strangerLog += c; });
        await spawned(stranger, 5000, 'the stranger wsworker');
        const ignored = new RegExp(`slot 0: ignoring a (Hello|Report) from pid ${stranger.pid}, which is ` +
            `not the slot's worker \\(pid ${own.pid}\\)`);
        await waitFor(() => fleet.lines(ignored).length === 1, 10000, 'the ignored stranger',
            () => `${fleet.tail()}\nstranger:\n${strangerLog}`);
        await sleep(1000); // twenty of its Reports: still one line, as it is rate-limited
        assert.equal(fleet.lines(new RegExp(`from pid ${stranger.pid}`)).length, 1, fleet.tail());

        const drain = await fleet.ctl(['drain', '0']);
        assert.equal(drain.code, 0, `${drain.stdout}${drain.stderr}`);
        await fleet.waitWorkers((l) => {
            const w = slotOf(l, 0);
            return w.state === 'running' && w.pid > 0 && w.pid !== own.pid;
        }, 20000, 'slot 0 replaced after its drain');
        // Drained by its Drain command (exit 0), not killed at the deadline; the stranger got
        // nothing to drain for.
        assert.equal(fleet.lines(new RegExp(`slot 0: worker pid ${own.pid} exited with 0$`)).length,
            1, fleet.tail());
        assert.ok(pidAlive(stranger.pid), `the stranger exited: ${strangerLog}`);
        assert.doesNotMatch(strangerLog, /draining/);
        signalPid(stranger.pid, 'SIGTERM');
        assert.notEqual(await orNull(strangerExit, 10000), null, 'the stranger did not exit');
    });
});
