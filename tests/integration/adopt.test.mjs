// Adoption: a wsfleetd started on the run dir of a supervisor that was SIGKILLed takes over its
// live workers (same pids, same listening sockets, clients untouched), respawns the slots whose
// worker died meanwhile, rolls adopted workers whose settings changed, and adopts nothing that is
// not its fleet's.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { echo, withTimeout, wsClosed } from './lib/worker.mjs';
import {
    countCloses, FLEET_READY_TIMEOUT_MS, fleetdPath, iniText, makeTempDir, openMany, ownersOf, pidAlive, runProgram,
    signalPid, sleep, startFleet, stopFleet, waitGone,
} from './lib/fleet.mjs';

function bySlot(list) {
    return new Map(list.map((w) => [w.slot, w]));
}

// Every client echoes in a loop until stop(); resolves with the number of echoes answered per
// client and every failure.
function echoLoops(clients) {
    const state = { stopped: false, answered: clients.map(() => 0), failures: [] };
    const loops = clients.map(async (ws, i) => {
        for (let n = 0; !state.stopped; n++) {
            const text = `client ${i} message ${n}`;
            try {
                const r = await echo(ws, text);
                if (r.data.toString() !== text) {
                    state.failures.push(`client ${i}: got ${r.data.toString()}`);
                    return;
                }
                state.answered[i]++;
            } catch (err) {
                state.failures.push(`client ${i}: ${err.message}`);
                return;
            }
            await sleep(20);
        }
    });
    return {
        state,
        async stop() {
            state.stopped = true;
            await Promise.all(loops);
            return state;
        },
    };
}

// SIGKILLs the supervisor of `fleet` (by pid) and waits for its exit.
async function killSupervisor(fleet) {
    signalPid(fleet.pid, 'SIGKILL');
    await fleet.exited;
}

describe('a supervisor restarted after SIGKILL', () => {
    const dirs = [];
    const fleets = [];

    // A fleet in a run dir of our own, so that a second supervisor can start on it.
    async function firstFleet(opts = {}) {
        const dir = makeTempDir();
        dirs.push(dir);
        const runDir = path.join(dir, 'run');
        const fleet = await startFleet({ runDir, ...opts });
        fleets.push(fleet);
        return { fleet, runDir };
    }

    async function nextFleet(runDir, opts = {}) {
        const fleet = await startFleet({ runDir, ...opts });
        fleets.push(fleet);
        return fleet;
    }

    after(async () => {
        // The last supervisor of each run dir drains every worker, adopted ones included.
        const problems = [];
        for (const fleet of fleets.reverse()) {
            if (fleet.running) {
                const problem = await stopFleet(fleet);
                if (problem) {
                    problems.push(problem);
                }
            } else {
                // SIGKILLed earlier. Its workers, adopted and now stopped, wrote to its stderr:
                // once they are all gone the pipe ends, and their sanitizer reports are in.
                if (!fleet.child.stderr.readableEnded) {
                    await withTimeout(once(fleet.child.stderr, 'end'), 15000,
                        'the end of the adopted workers\' stderr').catch((err) => {
                        problems.push(err.message);
                    });
                }
                problems.push(...fleet.sanitizerReports());
                await fleet.stop(); // removes its temp dir
            }
        }
        for (const dir of dirs) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.deepEqual(problems, []);
    });

    test('adopts both workers with their clients, steers them, and restarts a crashed one',
        async () => {
            const { fleet: first, runDir } = await firstFleet();
            const before = bySlot(await first.workers());
            assert.equal((await first.status()).workers_adopted, 0);
            const clients = await openMany(first, 20);
            const codes = new Map();
            for (const ws of clients) {
                countCloses(ws, codes);
            }
            const loops = echoLoops(clients);
            await sleep(300);
            await killSupervisor(first);
            await sleep(300); // the orphans serve on alone

            const second = await nextFleet(runDir);
            assert.equal(second.port, first.port);
            const adopted = bySlot(await second.workers());
            for (const [slot, w] of before) {
                assert.equal(adopted.get(slot).pid, w.pid, `slot ${slot} was not adopted:\n` +
                    second.tail());
                assert.equal(adopted.get(slot).state, 'running');
            }
            const adopting = await second.waitLines(/adopting worker pid/, 2);
            assert.equal(adopting.length, 2, second.tail());
            assert.equal((await second.status()).workers_adopted, 2);
            // Counters go on: the adoptees report the clients they kept.
            await second.waitWorkers((l) => l.reduce((n, w) => n + w.connections, 0) === 20,
                10000, 'the adopted workers to report their 20 clients');
            const answeredAtAdoption = [...loops.state.answered];
            await sleep(500);
            const result = await loops.stop();
            assert.deepEqual(result.failures, []);
            assert.deepEqual([...codes], [], 'clients were disconnected');
            result.answered.forEach((n, i) => assert.ok(n > answeredAtAdoption[i],
                `client ${i} got no echo after the adoption`));

            // New connections are served, and by both workers.
            const pids = [...before.values()].map((w) => w.pid);
            const fresh = await openMany(second, 40);
            for (const ws of fresh) {
                assert.equal((await echo(ws, 'new')).data.toString(), 'new');
            }
            const owners = ownersOf(fresh.map((ws) => ws.clientPort), second.port, pids);
            for (const pid of pids) {
                assert.ok([...owners.values()].includes(pid), `pid ${pid} got no new connection`);
            }
            // Steering is this supervisor's: a tripped breaker takes slot 0 out of the map of
            // the adopted group, so every new connection goes to slot 1.
            assert.equal((await second.ctl(['breaker', 'trip', '0'])).code, 0);
            const steered = await openMany(second, 30);
            const steeredOwners = ownersOf(steered.map((ws) => ws.clientPort), second.port, pids);
            for (const [port, pid] of steeredOwners) {
                assert.equal(pid, before.get(1).pid, `port ${port} went to ${pid}`);
            }
            assert.equal((await second.ctl(['breaker', 'reset', '0'])).code, 0);

            // Another fleet on the same port is still refused.
            const other = makeTempDir();
            dirs.push(other);
            const refused = await runProgram(fleetdPath(), ['--foreground', '--listen',
                `127.0.0.1:${second.port}`, '--workers', '1', '--run-dir', path.join(other, 'run')]);
            assert.equal(refused.code, 2, refused.stderr);
            assert.match(refused.stderr, /already has listeners this fleet does not hold/);

            // An adopted worker that crashes is restarted like any other.
            const victim = before.get(0).pid;
            const victimOwners = ownersOf(clients.map((ws) => ws.clientPort), second.port,
                [victim]);
            const victimClients = clients.filter((ws) => victimOwners.get(ws.clientPort) === victim);
            assert.ok(victimClients.length > 0, 'no client on the victim');
            signalPid(victim, 'SIGKILL');
            const list = await second.waitWorkers((l) => {
                const w = bySlot(l).get(0);
                return w.state === 'running' && w.pid > 0 && w.pid !== victim;
            }, 15000, 'slot 0 replaced');
            assert.equal(bySlot(list).get(0).restarts, 1);
            assert.equal(bySlot(list).get(1).pid, before.get(1).pid);
            const gone = await second.waitLines(new RegExp(`adopted worker pid ${victim} exited`));
            assert.equal(gone.length, 1, second.tail());
            assert.equal(pidAlive(victim), false);
            // Its clients were cut; reconnecting, they are served.
            for (const ws of victimClients) {
                await wsClosed(ws);
            }
            const again = await openMany(second, victimClients.length);
            for (const ws of again) {
                assert.equal((await echo(ws, 'back')).data.toString(), 'back');
            }
        });

    test('the workers of a supervisor that upgraded in place are adopted after it is killed',
        async () => {
            const { fleet: first, runDir } = await firstFleet();
            const before = bySlot(await first.workers());
            const r = await first.ctl(['upgrade'], 20000);
            assert.equal(r.code, 0, r.stderr + first.tail());
            // The upgraded image records the fleet again: the state names it and its workers.
            // A worker replaced by the upgraded image must be recorded by it, or the successor
            // would look for the dead one.
            const dead = before.get(1).pid;
            signalPid(dead, 'SIGKILL');
            const now = bySlot(await first.waitWorkers((list) => list.length === before.size &&
                list.every((w) => w.state === 'running' && w.pid > 0 && w.pid !== dead),
            FLEET_READY_TIMEOUT_MS, 'slot 1 replaced after the upgrade'));
            const state = fs.readFileSync(path.join(runDir, 'fleet.state'), 'utf8');
            assert.match(state, new RegExp(`\\b${now.get(1).pid}\\b`), state);
            await killSupervisor(first);

            const second = await nextFleet(runDir);
            const adopted = bySlot(await second.workers());
            for (const [slot, w] of now) {
                assert.equal(adopted.get(slot).pid, w.pid, `slot ${slot} was not adopted:\n` +
                    second.tail());
            }
            assert.equal((await second.status()).workers_adopted, now.size);
        });

    test('a slot whose orphan died meanwhile is respawned', async () => {
        const { fleet: first, runDir } = await firstFleet();
        const before = bySlot(await first.workers());
        await killSupervisor(first);
        const dead = before.get(1).pid;
        signalPid(dead, 'SIGKILL');
        assert.deepEqual(await waitGone([dead], 5000), []);

        const second = await nextFleet(runDir);
        const list = bySlot(await second.workers());
        assert.equal(list.get(0).pid, before.get(0).pid, second.tail());
        assert.notEqual(list.get(1).pid, dead);
        assert.equal(list.get(1).state, 'running');
        assert.equal((await second.waitLines(/adopting worker pid/)).length, 1, second.tail());
    });

    test('workers whose settings changed are adopted, then rolled', async () => {
        const { fleet: first, runDir } = await firstFleet();
        const before = bySlot(await first.workers());
        const clients = await openMany(first, 10);
        const codes = new Map();
        for (const ws of clients) {
            countCloses(ws, codes);
        }
        await killSupervisor(first);

        const second = await nextFleet(runDir, { sections: { worker: { max_message: 4096 } } });
        const adopting = await second.waitLines(/adopting worker pid/, 2);
        assert.equal(adopting.length, 2, second.tail());
        const list = await second.waitWorkers((l) => l.length === 2 && l.every((w) =>
            w.state === 'running' && w.pid !== before.get(w.slot).pid), 30000,
        'both slots rolled onto new workers');
        for (const w of list) {
            const argv = fs.readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0');
            const at = argv.indexOf('--max-message');
            assert.ok(at > 0 && argv[at + 1] === '4096', argv.join(' '));
        }
        assert.equal((await second.waitLines(/rolling restart: done/)).length, 1, second.tail());
        // The roll drains: clients are closed properly, none is cut abnormally.
        assert.equal(codes.get(1006) ?? 0, 0, JSON.stringify([...codes]));
    });
});

describe('adoption takes nothing that is not the fleet\'s', () => {
    let holder;
    let dir;

    after(async () => {
        if (holder && holder.exitCode === null) {
            const exited = once(holder, 'exit');
            holder.stdin.end();
            await exited;
        }
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test('a state file naming a stranger that listens on the port: refused, not adopted',
        async () => {
            const bin = process.env.REUSEPORT_HOLDER;
            assert.ok(bin, 'set REUSEPORT_HOLDER to the reuseport_holder helper (ctest does this)');
            holder = spawn(bin, ['127.0.0.1', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
            holder.stdout.setEncoding('utf8');
            const [line] = await once(holder.stdout, 'data');
            const port = Number(line.trim());
            assert.ok(port > 0, line);
            dir = makeTempDir();
            const runDir = path.join(dir, 'run');
            fs.mkdirSync(runDir, { mode: 0o700 });
            fs.writeFileSync(path.join(runDir, 'fleet.state'), 'wsfleet-state 1\n' +
                'supervisor 1\nworkers-fingerprint 0\nspawns 1\n' +
                `listen 127.0.0.1:${port}\nslots 2\nslot 0 ${holder.pid} 1 running\n` +
                'slot 1 0 0 stopped\n', { mode: 0o600 });
            const config = path.join(dir, 'fleet.ini');
            fs.writeFileSync(config, iniText({ workers: { count: 1, max: 2 } }));
            const r = await runProgram(fleetdPath(), ['--foreground', '-c', config, '--listen',
                `127.0.0.1:${port}`, '--run-dir', runDir]);
            assert.equal(r.code, 2, r.stderr);
            assert.match(r.stderr, /is not this fleet's worker any more/);
            assert.match(r.stderr, /already has listeners this fleet does not hold/);
            assert.equal(pidAlive(holder.pid), true);
        });
});
