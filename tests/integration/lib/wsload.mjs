// wsload for integration tests: runs it (killed by PID if the test process ends first), parses its
// JSON summary, and checks what every channels-mode run against a healthy server shows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const RUN_LIMIT_MS = 90000;

function wsloadPath() {
    const value = process.env.WSLOAD;
    if (!value) {
        throw new Error('set WSLOAD to the wsload executable (ctest does this)');
    }
    return value;
}

const liveLoads = new Set();
process.on('exit', () => {
    for (const child of liveLoads) {
        child.kill('SIGKILL');
    }
});

// Starts wsload with `args`. Returns { pid, done, kill }, done resolving with { code, signal,
// stdout, stderr, json } (json: the last stdout line parsed, when it parses); kill(signal)
// signals it while it runs (a no-op once it exited). Killed after `ms`.
export function startWsload(args, ms = RUN_LIMIT_MS) {
    const child = spawn(wsloadPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveLoads.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const done = new Promise((resolve) => {
        child.on('error', (err) => resolve({ code: null, signal: `spawn error ${err.code}` }));
        child.on('close', (code, signal) => resolve({ code, signal }));
    }).then((exit) => {
        clearTimeout(timer);
        liveLoads.delete(child);
        let json;
        try {
            const lines = stdout.trim().split('\n');
            json = JSON.parse(lines[lines.length - 1]);
        } catch {
            json = undefined;
        }
        return { ...exit, stdout, stderr, json };
    });
    return { pid: child.pid, done, kill: (signal) => child.kill(signal) };
}

// Starts wsload in channels mode with `args` after the target. Returns { pid, done } as
// startWsload.
export function startChannels(port, args) {
    return startWsload(['--port', String(port), '--mode', 'channels', '--json', ...args]);
}

export function describeRun(r) {
    return `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-4000)}`;
}

// What every run against a healthy fleet shows, whatever was killed in between.
export function assertExactlyOnce(r, subscribers) {
    const j = r.json;
    assert.ok(j, describeRun(r));
    assert.equal(j.mode, 'channels');
    assert.equal(j.errors, 0, describeRun(r));
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(j.publications_acked > 0, describeRun(r));
    assert.equal(j.lost_publications, 0, describeRun(r));
    assert.equal(j.duplicated, 0, describeRun(r));
    assert.equal(j.out_of_order, 0, describeRun(r));
    assert.equal(j.not_recovered, 0, describeRun(r));
    assert.equal(j.data_errors, 0, describeRun(r));
    assert.equal(j.protocol_errors, 0, describeRun(r));
    assert.equal(j.not_subscribed, 0, describeRun(r));
    assert.equal(j.behind, 0, describeRun(r));
    assert.equal(j.gave_up, 0, describeRun(r));
    assert.ok(j.subscribes >= subscribers, describeRun(r));
    // Each acknowledged publication went to every subscriber of its channel that was there.
    assert.ok(j.deliveries > 0 && j.deliveries >= j.publications_acked, describeRun(r));
}


// A quiet run of 40 subscribers over 4 channels at 20 publications/s: nothing disconnects,
// every publication is acknowledged and reaches each of its channel's subscribers.
export async function assertQuietRun(port) {
    const r = await startChannels(port, ['--connections', '40', '--channels', '4',
        '--publish-rate', '20', '--duration', '3']).done;
    assertExactlyOnce(r, 40);
    const j = r.json;
    assert.equal(j.disconnects, 0, describeRun(r));
    assert.equal(j.resumes, 0);
    assert.equal(j.publish_errors, 0, describeRun(r));
    assert.equal(j.publications_acked, j.published, describeRun(r));
    // 10 subscribers per channel, subscribed before most publications.
    assert.ok(j.deliveries >= 5 * j.publications_acked, describeRun(r));
}

// Publications to channels of the namespace `closed` (publish = none): every one refused, nothing
// delivered, the subscribers still subscribed.
export async function assertClosedNamespace(port) {
    const r = await startChannels(port, ['--connections', '4', '--channels', '2',
        '--channel-prefix', 'closed:c', '--publish-rate', '10', '--duration', '1.5']).done;
    const j = r.json;
    assert.ok(j, describeRun(r));
    assert.ok(j.published > 0, describeRun(r));
    assert.equal(j.publish_errors, j.published, describeRun(r));
    assert.equal(j.publications_acked, 0);
    assert.equal(j.deliveries, 0);
    assert.equal(j.lost_publications, 0);
    assert.equal(j.subscribes, 4, describeRun(r));
}
