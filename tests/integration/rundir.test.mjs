// The run directory: wsfleetd refuses one it cannot trust (another user's, writable by others, not
// a directory) with exit 2 and one line, changes nothing it did not create, creates a missing one
// 0700, and holds a lock on RUNDIR/lock for its life, so a second wsfleetd is refused even while
// the first is stopped, and accepted once the first is dead.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    fleetdPath, makeTempDir, pidAlive, runProgram, signalPid, startFleet, stopFleet, wsctl,
} from './lib/fleet.mjs';

const NOBODY = 65534;

// Runs a wsfleetd on `runDir` that should be refused; resolves with its result.
function startRefused(runDir, extra = []) {
    return runProgram(fleetdPath(), ['--foreground', '--listen', '127.0.0.1:0', '--workers', '1',
        '--run-dir', runDir, ...extra], 20000);
}

// Asserts exit 2 and exactly one line on stderr, an error naming `where` and matching `reason`.
function assertRefused(r, where, reason) {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(r.code, 2, `exit ${r.code} ${r.signal}\n${r.stderr}`);
    assert.equal(lines.length, 1, `more than one line:\n${r.stderr}`);
    assert.match(lines[0], / error: run dir /);
    assert.ok(lines[0].includes(where), `the line does not name ${where}: ${lines[0]}`);
    assert.match(lines[0], reason);
}

function modeOf(p) {
    return fs.statSync(p).mode & 0o7777;
}

describe('run dir safety', () => {
    const dirs = [];
    const tempDir = () => {
        const d = makeTempDir();
        dirs.push(d);
        return d;
    };
    after(() => {
        for (const d of dirs) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    test('a run dir owned by another user is refused and left alone',
        { skip: process.geteuid() !== 0 && 'needs root to make a directory of uid 65534' },
        async () => {
            const run = path.join(tempDir(), 'run');
            fs.mkdirSync(run, { mode: 0o700 });
            fs.chownSync(run, NOBODY, NOBODY);
            const r = await startRefused(run);
            assertRefused(r, run, new RegExp(`owned by uid ${NOBODY}, not by wsfleetd's uid 0`));
            const st = fs.statSync(run);
            assert.equal(st.uid, NOBODY);
            assert.equal(st.mode & 0o7777, 0o700);
            assert.deepEqual(fs.readdirSync(run), [], 'wsfleetd wrote into the refused dir');
        });

    for (const mode of [0o1777, 0o770, 0o722]) {
        test(`a run dir of mode ${mode.toString(8)} is refused and its mode unchanged`, async () => {
            const run = path.join(tempDir(), 'run');
            fs.mkdirSync(run);
            fs.chmodSync(run, mode);
            const r = await startRefused(run);
            assertRefused(r, run, /writable by group or others \(mode \d+\)/);
            assert.equal(modeOf(run), mode);
            assert.deepEqual(fs.readdirSync(run), []);
        });
    }

    test('a regular file as run dir is refused and unchanged', async () => {
        const file = path.join(tempDir(), 'run');
        fs.writeFileSync(file, 'not a dir\n', { mode: 0o644 });
        fs.chmodSync(file, 0o644);
        const r = await startRefused(file);
        assertRefused(r, file, /not a directory/);
        assert.equal(modeOf(file), 0o644);
        assert.equal(fs.readFileSync(file, 'utf8'), 'not a dir\n');
    });

    test('a run dir whose parent is missing is refused, not made with its parents', async () => {
        const run = path.join(tempDir(), 'missing', 'run');
        const r = await startRefused(run);
        assertRefused(r, run, /parent directory must exist/);
        assert.equal(fs.existsSync(path.dirname(run)), false);
    });

    test('a missing run dir is created 0700; the lock names the supervisor; workers do not ' +
        'hold it', async (t) => {
        const fleet = await startFleet({ workers: { count: 2 } });
        t.after(async () => {
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        });
        assert.equal(modeOf(fleet.runDir), 0o700);
        const lock = path.join(fleet.runDir, 'lock');
        assert.equal(modeOf(lock), 0o600);
        assert.equal(fs.readFileSync(lock, 'utf8'), `${fleet.pid}\n`);
        const holds = (pid) => fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
            try {
                return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === lock;
            } catch {
                return false;
            }
        });
        assert.ok(holds(fleet.pid), 'the supervisor does not hold RUNDIR/lock open');
        const workers = await fleet.workers();
        assert.equal(workers.length, 2);
        for (const w of workers) {
            assert.equal(holds(w.pid), false, `worker ${w.pid} inherited RUNDIR/lock`);
        }
    });

    test('a second wsfleetd is refused while the first is stopped (SIGSTOP); the first keeps ' +
        'its endpoints', async (t) => {
        const fleet = await startFleet({ workers: { count: 1 } });
        let stopped = false;
        t.after(async () => {
            if (stopped) {
                signalPid(fleet.pid, 'SIGCONT');
            }
            const problem = await stopFleet(fleet);
            assert.equal(problem, null, problem ?? '');
        });
        assert.ok(signalPid(fleet.pid, 'SIGSTOP'));
        stopped = true;
        const r = await startRefused(fleet.runDir, ['-c', fleet.configPath]);
        assertRefused(r, fleet.runDir, new RegExp(`in use by wsfleetd pid ${fleet.pid}\\b`));
        for (const name of ['ctl', 'workers']) {
            const st = fs.statSync(path.join(fleet.runDir, name));
            assert.ok(st.isSocket(), `${name} is gone or no longer a socket`);
        }
        assert.ok(signalPid(fleet.pid, 'SIGCONT'));
        stopped = false;
        const s = await wsctl(['--run-dir', fleet.runDir, '--json', 'status']);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(s.json.pid, fleet.pid);
    });

    test('a second wsfleetd is accepted once the first was SIGKILLed, while its orphan workers ' +
        'live', async (t) => {
        const first = await startFleet({ workers: { count: 1, orphan_grace: 60 } });
        let second;
        t.after(async () => {
            const problem = await stopFleet(second);
            await first.stop(); // SIGKILLed: reaps nothing, kills its leftover workers by PID
            assert.equal(problem, null, problem ?? '');
        });
        const [orphan] = await first.workers();
        assert.equal((await first.signalAndWait('SIGKILL', 10000))?.signal, 'SIGKILL');
        assert.ok(pidAlive(orphan.pid), 'the orphan worker is already gone');
        second = await startFleet({ runDir: first.runDir, workers: { count: 1 },
            waitWorkers: false });
        // The orphan was still alive when the second one took the lock: workers never hold it.
        assert.ok(pidAlive(orphan.pid), 'the orphan worker exited before the check');
        const s = await second.ctl(['--json', 'status']);
        assert.equal(s.code, 0, s.stderr);
        assert.equal(s.json.pid, second.pid);
        assert.equal(fs.readFileSync(path.join(first.runDir, 'lock'), 'utf8'), `${second.pid}\n`);
    });
});
