// Port ownership: wsfleetd refuses (exit 2, one line naming the address) to listen on an address
// that already has listeners it does not hold (another fleet, a stray SO_REUSEPORT process, a
// listener on an overlapping address), and the fleet already there keeps serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import {
    echoOnce, fleetdPath, iniText, makeTempDir, runProgram, signalPid, startFleet, stopFleet,
    TEST_WORKERS,
} from './lib/fleet.mjs';

// Sockets in LISTEN state on `port` in /proc/net/tcp and tcp6 (this network namespace).
function listenersOn(port) {
    let n = 0;
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
        for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
            const f = line.trim().split(/\s+/);
            if (f.length > 3 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) {
                n++;
            }
        }
    }
    return n;
}

// Runs a second wsfleetd on `listen` with its own run dir, in the foreground unless
// `background`; resolves with runProgram's result. A background one that did start (the bug
// this guards against) is stopped by the PID it printed.
async function runSecondFleet(listen, { background = false } = {}) {
    const dir = makeTempDir();
    let r;
    try {
        const config = path.join(dir, 'fleet.ini');
        fs.writeFileSync(config, iniText({ workers: TEST_WORKERS }));
        const args = ['-c', config, '--listen', listen, '--run-dir', path.join(dir, 'run')];
        r = await runProgram(fleetdPath(), background ? args : ['--foreground', ...args], 20000);
        return r;
    } finally {
        const m = /running in the background as pid (\d+)/.exec(r?.stdout ?? '');
        if (m) {
            signalPid(Number(m[1]), 'SIGKILL');
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// The refusal: exit 2, and exactly one error line, which names the address.
function assertRefused(r, address) {
    assert.equal(r.code, 2, `exit ${r.code} ${r.signal ?? ''}; stderr:\n${r.stderr}`);
    const errors = r.stderr.split('\n').filter((l) => / error: /.test(l));
    assert.equal(errors.length, 1, r.stderr);
    assert.ok(errors[0].includes(address), `"${address}" not in: ${errors[0]}`);
    assert.doesNotMatch(r.stderr, /started worker pid/);
}

async function echoes(fleet, n) {
    let ok = 0;
    for (let i = 0; i < n; i++) {
        const r = await echoOnce(fleet.url(), `still here ${i}`);
        ok += r.ok ? 1 : 0;
    }
    return ok;
}

describe('a second fleet on a fleet\'s address', () => {
    let fleet;

    before(async () => {
        fleet = await startFleet();
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        assert.equal(problem, null, problem ?? '');
    });

    test('the same address: refused with exit 2, nothing joins the group, the first serves', async () => {
        const held = listenersOn(fleet.port);
        assert.equal(held, fleet.nsockets);
        const r = await runSecondFleet(`127.0.0.1:${fleet.port}`);
        assertRefused(r, `127.0.0.1:${fleet.port}`);
        assert.equal(listenersOn(fleet.port), held);
        assert.equal(await echoes(fleet, 20), 20);
        const list = await fleet.workers();
        assert.equal(list.filter((w) => w.state === 'running').length, TEST_WORKERS.count);
    });

    test('started in the background, the refusal still reaches the shell as exit 2', async () => {
        const r = await runSecondFleet(`127.0.0.1:${fleet.port}`, { background: true });
        assertRefused(r, `127.0.0.1:${fleet.port}`);
        assert.doesNotMatch(r.stdout, /running in the background/);
        assert.equal(await echoes(fleet, 5), 5);
    });

    test('the wildcard address on the same port: refused too', async () => {
        const r = await runSecondFleet(`0.0.0.0:${fleet.port}`);
        assertRefused(r, `0.0.0.0:${fleet.port}`);
        assert.equal(await echoes(fleet, 5), 5);
    });
});

describe('a stray listener with SO_REUSEPORT of the same uid', () => {
    let holder;
    let port;

    before(async () => {
        const bin = process.env.REUSEPORT_HOLDER;
        assert.ok(bin, 'set REUSEPORT_HOLDER to the reuseport_holder helper (ctest does this)');
        holder = spawn(bin, ['127.0.0.1', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        holder.stdout.setEncoding('utf8');
        while (!out.includes('\n')) {
            const [chunk] = await Promise.race([once(holder.stdout, 'data'),
                once(holder, 'exit').then(([code]) => {
                    throw new Error(`reuseport_holder exited ${code}`);
                })]);
            out += chunk;
        }
        port = Number(out.trim());
        assert.ok(port > 0, out);
    });

    after(async () => {
        if (holder.exitCode === null) {
            const exited = once(holder, 'exit');
            holder.stdin.end();
            await exited;
        }
    });

    test('is never joined: wsfleetd exits 2 naming the address', async () => {
        assert.equal(listenersOn(port), 1);
        const r = await runSecondFleet(`127.0.0.1:${port}`);
        assertRefused(r, `127.0.0.1:${port}`);
        assert.equal(listenersOn(port), 1);
    });
});
