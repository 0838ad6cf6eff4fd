// Fault injection is gated: `wsctl fault` is refused (exit 1, naming [drills] enabled) unless the
// configuration sets [drills] enabled = yes; memory faults are capped by [drills] max_memory, and
// the workers get the cap as --drills-max-memory (without it a worker refuses every fault).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { iniText, startFleet, stopFleet, TEST_WORKERS } from './lib/fleet.mjs';

// The worker's command line, as argv.
function cmdline(pid) {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
}

// Runs `body(fleet)` against a fresh fleet of one worker with `sections`, then stops it cleanly.
async function withFleet(sections, body) {
    const fleet = await startFleet({ workers: { count: 1 }, sections });
    try {
        await body(fleet);
    } finally {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    }
}

describe('drills gate', () => {
    test('without [drills] every fault is refused with exit 1 and the worker is untouched',
        () => withFleet({}, async (fleet) => {
            const [w] = await fleet.workers();
            assert.ok(!cmdline(w.pid).includes('--drills-max-memory'), cmdline(w.pid).join(' '));
            for (const args of [['error', '--rate', '1', '--for', '2'],
                ['memory', '--rate', '1024', '--for', '3600'], ['crash'], ['hang', '--for', '5']]) {
                const r = await fleet.ctl(['fault', '0', ...args]);
                assert.equal(r.code, 1, `fault ${args.join(' ')}: exit ${r.code} ${r.stderr}`);
                assert.match(r.stderr, /\[drills\] enabled = yes/);
            }
            // Ending a fault is always allowed: it only turns drills off.
            const off = await fleet.ctl(['fault', '0', 'off']);
            assert.equal(off.code, 0, off.stderr);
            assert.equal(fleet.lines(/fault (?!off)\S+ injected/).length, 0, fleet.tail());
            const [after] = await fleet.workers();
            assert.equal(after.pid, w.pid);
            assert.equal(after.state, 'running');
        }));

    test('with [drills] enabled = yes a fault is accepted and the worker has the cap',
        () => withFleet({ drills: { enabled: 'yes' } }, async (fleet) => {
            const [w] = await fleet.workers();
            const argv = cmdline(w.pid);
            const at = argv.indexOf('--drills-max-memory');
            assert.ok(at > 0, argv.join(' '));
            assert.equal(argv[at + 1], String(256 * 1024 * 1024));
            const r = await fleet.ctl(['fault', '0', 'latency', '--ms', '10', '--for', '1']);
            assert.equal(r.code, 0, r.stderr);
            // The default cap: 1024 MiB/s for an hour is far past 256 MiB.
            const big = await fleet.ctl(['fault', '0', 'memory', '--rate', '1024', '--for',
                '3600']);
            assert.equal(big.code, 1, big.stderr);
            assert.match(big.stderr, /over \[drills\] max_memory \(256 MiB\)/);
        }));

    test('a memory fault past [drills] max_memory is refused; one at the cap is accepted',
        () => withFleet({ drills: { enabled: 'yes', max_memory: 16 * 1024 * 1024 } },
            async (fleet) => {
                const over = await fleet.ctl(['fault', '0', 'memory', '--rate', '8', '--for', '3']);
                assert.equal(over.code, 1, over.stderr);
                assert.match(over.stderr, /grows to 24 MiB, over \[drills\] max_memory \(16 MiB\)/);
                const at = await fleet.ctl(['fault', '0', 'memory', '--rate', '8', '--for', '2']);
                assert.equal(at.code, 0, at.stderr);
                assert.equal(fleet.lines(/fault .* refused/).length, 0, fleet.tail());
            }));

    test('a reload that enables drills restarts the workers with the cap', async () => {
        const fleet = await startFleet({ workers: { count: 1 } });
        try {
            const [old] = await fleet.workers();
            let r = await fleet.ctl(['fault', '0', 'crash']);
            assert.equal(r.code, 1, r.stderr);
            fs.writeFileSync(fleet.configPath, iniText({
                workers: { ...TEST_WORKERS, count: 1 }, drills: { enabled: 'yes' },
            }));
            r = await fleet.ctl(['reload']);
            assert.equal(r.code, 0, r.stderr);
            const [now] = await fleet.waitWorkers((l) => l[0].state === 'running' &&
                l[0].pid !== old.pid, 10000, 'a restarted worker');
            assert.ok(cmdline(now.pid).includes('--drills-max-memory'), cmdline(now.pid).join(' '));
            r = await fleet.ctl(['fault', '0', 'latency', '--ms', '10', '--for', '1']);
            assert.equal(r.code, 0, r.stderr);
        } finally {
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        }
    });
});
