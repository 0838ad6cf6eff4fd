// Spawning workers: a spawn that fails (no descriptors left for pipe2) is retried with backoff
// until it works, never leaving a wanted slot stopped; and a worker gets the supervisor's whole
// environment, however many variables it has.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
    runProgram, sleep, startFleet, stopFleet,
} from './lib/fleet.mjs';

function slotOf(list, slot) {
    return list.find((w) => w.slot === slot);
}

// Polls `pred()` every 50 ms; rejects with `what` and `detail()` after `ms`.
async function waitFor(pred, ms, what, detail = () => '') {
    const deadline = Date.now() + ms;
    while (!(await pred())) {
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`);
        }
        await sleep(50);
    }
}

// The soft and hard RLIMIT_NOFILE of `pid`, from /proc.
function nofileLimits(pid) {
    const text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    assert.ok(m, text);
    return { soft: m[1], hard: m[2] };
}

// The lowest descriptor number `pid` does not have open.
function lowestFreeFd(pid) {
    const open = new Set(fs.readdirSync(`/proc/${pid}/fd`).map(Number));
    let n = 0;
    while (open.has(n)) {
        n++;
    }
    return n;
}

async function setNofile(pid, soft, hard) {
    const r = await runProgram('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard}`]);
    assert.equal(r.code, 0, `prlimit: ${r.stderr}`);
}

describe('a spawn that fails', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet({ workers: { count: 2, max: 4, report_interval: 0.5 } });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('pipe2 failing with EMFILE: the slot backs off and retries, and runs once descriptors are back',
        async () => {
            const limits = nofileLimits(fleet.pid);
            // One free descriptor below the limit: enough for wsctl's connection, never for
            // the two of the spawn's error pipe.
            await setNofile(fleet.pid, lowestFreeFd(fleet.pid) + 1, limits.hard);
            let restored = false;
            try {
                const scale = await fleet.ctl(['scale', '3']);
                assert.equal(scale.code, 0, `${scale.stdout}${scale.stderr}`);
                const failures = () => fleet.lines(/slot 2: cannot spawn a worker: pipe: /).length;
                await waitFor(() => failures() >= 3, 20000, 'three failed spawns of slot 2',
                    () => fleet.tail());
                assert.ok(fleet.lines(/slot 2: restarting in \d+ ms/).length >= 2, fleet.tail());
                const list = await fleet.workers();
                const w = slotOf(list, 2);
                assert.ok(w, JSON.stringify(list));
                assert.ok(w.state === 'backoff' || w.state === 'failed' || w.state === 'starting',
                    `slot 2 is ${w.state}, not waiting to retry: ${JSON.stringify(w)}`);
                assert.ok(w.restarts >= 3, JSON.stringify(w));
                await setNofile(fleet.pid, limits.soft, limits.hard);
                restored = true;
            } finally {
                if (!restored) {
                    await setNofile(fleet.pid, limits.soft, limits.hard);
                }
            }
            // The failed state retries every max_delay (15 s): the next attempt works.
            const list = await fleet.waitWorkers((l) => l.length === 3 &&
                l.every((w) => w.state === 'running' && w.pid > 0), 40000, 'slot 2 running');
            assert.ok(slotOf(list, 2).restarts >= 3, JSON.stringify(list));
        });
});

describe('the worker environment', () => {
    const COUNT = 120; // more than the 56 variables a fixed array once held
    const env = {};
    for (let i = 0; i < COUNT; i++) {
        env[`WSFIT_VAR_${String(i).padStart(3, '0')}`] = `value-${i}`;
    }
    let fleet;

    before(async () => {
        fleet = await startFleet({ workers: { count: 2 }, env });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test(`a worker gets all ${COUNT} extra variables of the supervisor, and its own WSF_ ones`,
        async () => {
            const list = await fleet.workers();
            assert.equal(list.length, 2);
            for (const w of list) {
                const vars = new Map(fs.readFileSync(`/proc/${w.pid}/environ`, 'utf8').split('\0')
                    .filter((kv) => kv.includes('='))
                    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
                for (const [k, v] of Object.entries(env)) {
                    assert.equal(vars.get(k), v, `worker ${w.pid} (slot ${w.slot}): ${k}`);
                }
                assert.equal(vars.get('WSF_SLOT'), String(w.slot));
                assert.ok(vars.has('WSF_SUPERVISOR'));
                assert.ok(vars.has('WSF_GENERATION'));
                assert.ok(vars.has('WSF_LISTEN_FDS'));
            }
        });
});
