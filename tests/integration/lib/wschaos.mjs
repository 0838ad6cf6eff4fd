// wschaos for integration tests: drill files in a temporary directory of the test process, runs
// whose JSON report is parsed, and every PID a drill's progress lines name, so a test can check
// that nothing is left running and the process kills what is when its tests end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { makeTempDir, pidAlive, runProgram, signalPid } from './fleet.mjs';

function wschaosPath() {
    const p = process.env.WSCHAOS;
    assert.ok(p, 'WSCHAOS must name the wschaos binary');
    return p;
}

// The directory drill files are written to; removed when the tests end.
export const drillTmp = makeTempDir();
const started = new Set(); // every PID a drill's progress lines name, for the final check

after(() => {
    for (const pid of started) {
        if (pidAlive(pid)) {
            signalPid(pid, 'SIGKILL');
        }
    }
    fs.rmSync(drillTmp, { recursive: true, force: true });
});

// Writes `text` to <drillTmp>/<name>.drill; returns its path.
export function writeDrill(name, text) {
    const file = path.join(drillTmp, `${name}.drill`);
    fs.writeFileSync(file, text);
    return file;
}

// Runs wschaos with `args` (killed after `ms`), as runProgram, with json: stdout parsed when it
// parses.
export async function wschaos(args, ms) {
    const result = await runProgram(wschaosPath(), args, ms);
    for (const m of result.stderr.matchAll(/fleet pid (\d+)|pid (\d+)/g)) {
        started.add(Number(m[1] ?? m[2]));
    }
    try {
        result.json = JSON.parse(result.stdout);
    } catch {
        result.json = undefined;
    }
    return result;
}

// Every process the drills so far started has exited.
export function assertNothingLeft() {
    assert.ok(started.size > 0, 'the progress lines named no process');
    const alive = [...started].filter((pid) => pidAlive(pid));
    assert.deepEqual(alive, [], `still running after wschaos exited: ${alive.join(' ')}`);
}
