// Alerts delivered to a real Alertmanager (Debian's prometheus-alertmanager, started here on a
// loopback port of its own with its own config and storage): a slot that goes failed and a
// breaker tripped by the operator fire alerts that Alertmanager's API v2 then lists; once the
// conditions clear, the alerts are resolved there and in `wsctl alerts`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    TEST_WORKERS, iniText, makeTempDir, signalPid, sleep, startFleet, steadyTraffic, stopFleet,
    waitFor,
} from './lib/fleet.mjs';
import { echo, openWs, slow } from './lib/worker.mjs';

const ALERTMANAGER = process.env.ALERTMANAGER || '/usr/bin/prometheus-alertmanager';
const FLEET_LABEL = `it-alerts-${process.pid}`;
const WAIT_MS = slow(20000);
// Firing alerts are re-sent this often, each time with endsAt 4 intervals ahead: an alert that
// leaves Alertmanager before its last endsAt was resolved by wsfleetd, not expired.
const RESEND_S = Math.ceil(slow(3000) / 1000);

// A loopback port nobody holds right now (the caller retries when it is taken meanwhile).
function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

// A real Alertmanager with a config that routes everything to a receiver without integrations:
// the test reads the alerts back from its API.
class Alertmanager {
    constructor() {
        this.dir = makeTempDir();
        this.log = '';
        this.child = null;
        this.port = 0;
    }

    get url() {
        return `http://127.0.0.1:${this.port}`;
    }

    async start() {
        const conf = path.join(this.dir, 'alertmanager.yml');
        fs.writeFileSync(conf, [
            'route:',
            '  receiver: blackhole',
            '  group_by: [alertname, slot]',
            'receivers:',
            '  - name: blackhole',
            '',
        ].join('\n'));
        for (let attempt = 0; attempt < 3; attempt++) {
            this.port = await freePort();
            this.log = '';
            const child = spawn(ALERTMANAGER, [
                `--config.file=${conf}`, `--storage.path=${path.join(this.dir, 'data')}`,
                `--web.listen-address=127.0.0.1:${this.port}`, '--cluster.listen-address=',
            ], { stdio: ['ignore', 'pipe', 'pipe'] });
            this.child = child;
            child.stdout.setEncoding('utf8').on('data', (c) => { this.log += c; });
            child.stderr.setEncoding('utf8').on('data', (c) => { this.log += c; });
            this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
                resolve({ code, signal });
            }));
            let gone = false;
            this.exited.then(() => { gone = true; });
            const deadline = Date.now() + slow(15000);
            while (!gone && Date.now() < deadline) {
                try {
                    const r = await fetch(`${this.url}/-/ready`);
                    if (r.ok) {
                        return;
                    }
                } catch {
                    // not listening yet
                }
                await sleep(50);
            }
            if (!gone) {
                throw new Error(`alertmanager not ready after 15 s:\n${this.log}`);
            }
            // Most likely the port was taken between the probe and the bind: another one.
        }
        throw new Error(`alertmanager did not start:\n${this.log}`);
    }

    // The alerts Alertmanager holds for this test's fleet (active ones: the API leaves out those
    // whose endsAt has passed).
    async alerts() {
        const filter = encodeURIComponent(`fleet="${FLEET_LABEL}"`);
        const r = await fetch(`${this.url}/api/v2/alerts?filter=${filter}`);
        assert.equal(r.status, 200, await r.clone().text());
        return r.json();
    }

    async stop() {
        if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
            this.child.kill('SIGTERM');
            const exit = await Promise.race([this.exited, sleep(5000).then(() => null)]);
            if (exit === null) {
                this.child.kill('SIGKILL');
                await this.exited;
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// n WebSocket clients that each echo a message about every 12 ms (below the workers' message
// rate limit) until stop().
async function echoLoad(fleet, n) {
    const clients = await Promise.all(Array.from({ length: n }, () => openWs(fleet)));
    let running = true;
    const loops = clients.map(async (ws, c) => {
        for (let i = 0; running; i++) {
            await echo(ws, `load ${c} ${i}`);
            await sleep(12);
        }
    });
    return {
        async stop() {
            running = false;
            const results = await Promise.allSettled(loops);
            for (const ws of clients) {
                ws.terminate();
            }
            return results;
        },
    };
}

function find(list, name, slot) {
    return list.find((a) => a.labels.alertname === name &&
        (slot === undefined || a.labels.slot === String(slot)));
}

// Waits until Alertmanager lists none of `alerts` (copies read from it while they fired), and
// checks that this happened before the endsAt of each one's last firing copy: wsfleetd resolved
// them, they did not just expire.
async function waitResolved(am, fleet, alerts) {
    const key = (a) => `${a.labels.alertname}/${a.labels.slot ?? ''}`;
    const endsAt = new Map(alerts.map((a) => [key(a), Date.parse(a.endsAt)]));
    await waitFor(async () => {
        let left = 0;
        for (const a of await am.alerts()) {
            if (endsAt.has(key(a))) {
                endsAt.set(key(a), Math.max(endsAt.get(key(a)), Date.parse(a.endsAt)));
                left++;
            }
        }
        return left === 0;
    }, WAIT_MS, `${[...endsAt.keys()]} resolved in Alertmanager`, () => fleet.tail());
    const now = Date.now();
    for (const [k, t] of endsAt) {
        assert.ok(now < t, `${k} expired instead of being resolved`);
    }
}

// The admin server's URL from the fleet's log line "admin listening on http://127.0.0.1:PORT".
function adminBase(fleet) {
    const m = /admin listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(fleet.stderr);
    assert.ok(m, `no admin listening line:\n${fleet.tail()}`);
    return m[1];
}

async function getJson(url) {
    const r = await fetch(url);
    assert.equal(r.status, 200, await r.clone().text());
    return r.json();
}

// `wsctl --json alerts`, checked for exit 0.
async function ctlAlerts(fleet) {
    const r = await fleet.ctl(['--json', 'alerts']);
    assert.equal(r.code, 0, `wsctl alerts: ${r.stdout}${r.stderr}`);
    assert.ok(Array.isArray(r.json?.firing) && Array.isArray(r.json?.recent), r.stdout);
    return r.json;
}

describe('alerts to Alertmanager', () => {
    let am;
    let fleet;
    let sections;

    before(async () => {
        am = new Alertmanager();
        await am.start();
        sections = {
            // One exit makes a slot failed, and it stays so (retried every 60 s).
            restart: { fail_count: 1, max_delay: 60 },
            drills: { enabled: 'yes' },
            // No breaker opens on the errors the error-rate test injects.
            breaker: { min_events: 1000000 },
            alerts: {
                fleet: FLEET_LABEL,
                webhook: am.url,
                fleet_degraded_for: 1,
                breaker_open_for: 1,
                error_rate_above: 2,
                error_rate_for: 1,
                p99_latency_above: 0.5,
                p99_latency_for: 1,
                sidecar_down_for: 1,
                resend_interval: RESEND_S,
                webhook_timeout: 2,
            },
        };
        fleet = await startFleet({ workers: { count: 2 }, sections });
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        await am?.stop();
        assert.equal(problem, null, problem ?? '');
    });

    test('wsctl alerts: nothing firing on a healthy fleet', async () => {
        const doc = await ctlAlerts(fleet);
        assert.equal(doc.fleet, FLEET_LABEL);
        assert.deepEqual(doc.firing, []);
        const table = await fleet.ctl(['alerts']);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /^no alerts$/m);
    });

    test('a tripped breaker fires WsfleetBreakerOpen after breaker_open_for; a reset resolves it',
        async () => {
            const trip = await fleet.ctl(['breaker', 'trip', '0']);
            assert.equal(trip.code, 0, trip.stderr);
            const got = await waitFor(async () => find(await am.alerts(), 'WsfleetBreakerOpen', 0),
                WAIT_MS, 'WsfleetBreakerOpen in Alertmanager', () => `${fleet.tail()}\n${am.log}`);
            assert.equal(got.status.state, 'active', JSON.stringify(got));
            assert.equal(got.labels.fleet, FLEET_LABEL);
            assert.equal(got.labels.severity, 'warning');
            assert.match(got.annotations.summary, /breaker of slot 0 open/);
            assert.ok(Date.parse(got.endsAt) > Date.now(), `endsAt ${got.endsAt} not ahead`);
            const doc = await ctlAlerts(fleet);
            const mine = doc.firing.find((a) => a.alertname === 'WsfleetBreakerOpen');
            assert.ok(mine && mine.slot === 0 && mine.state === 'firing', JSON.stringify(doc));
            const table = await fleet.ctl(['alerts']);
            assert.match(table.stdout, /^firing\s+WsfleetBreakerOpen\s+0\s+warning\s/m,
                table.stdout);
            const firingLines = await fleet.waitLines(/alert firing: WsfleetBreakerOpen slot=0 /);
            assert.equal(firingLines.length, 1, fleet.tail());
            console.log(`wsctl alerts while firing:\n${table.stdout}`);

            // The admin server: the dashboard's URL as generatorURL, /api/alerts, an event of
            // kind alert on the timeline, and the Prometheus gauge.
            const base = adminBase(fleet);
            assert.equal(got.generatorURL, `${base}/`);
            const api = await getJson(`${base}/api/alerts`);
            assert.equal(api.fleet, FLEET_LABEL);
            assert.ok(api.firing.some((a) => a.alertname === 'WsfleetBreakerOpen' &&
                a.slot === 0 && a.state === 'firing'), JSON.stringify(api));
            const { events } = await getJson(`${base}/api/events`);
            const fired = events.filter((e) => e.kind === 'alert' && e.slot === 0 &&
                /^firing WsfleetBreakerOpen \(warning\): breaker of slot 0 open/.test(e.text));
            assert.equal(fired.length, 1, JSON.stringify(events));
            const metrics = await (await fetch(`${base}/metrics`)).text();
            assert.match(metrics, /^wsfleet_alerts_firing\{alertname="WsfleetBreakerOpen"\} 1$/m);

            // Re-sent while firing: Alertmanager sees its endsAt move on.
            const resent = await waitFor(async () => {
                const a = find(await am.alerts(), 'WsfleetBreakerOpen', 0);
                return a && Date.parse(a.endsAt) > Date.parse(got.endsAt) ? a : null;
            }, WAIT_MS, 'a re-send of WsfleetBreakerOpen', () => `${fleet.tail()}\n${am.log}`);
            assert.equal(resent.startsAt, got.startsAt);

            const reset = await fleet.ctl(['breaker', 'reset', '0']);
            assert.equal(reset.code, 0, reset.stderr);
            await waitResolved(am, fleet, [resent]);
            const after = await waitFor(async () => {
                const d = await ctlAlerts(fleet);
                return d.firing.length === 0 ? d : null;
            }, WAIT_MS, 'no firing alert in wsctl alerts');
            const resolved = after.recent.find((a) => a.alertname === 'WsfleetBreakerOpen');
            assert.ok(resolved && resolved.state === 'resolved' && resolved.endsAt,
                JSON.stringify(after));
            assert.ok(Date.parse(resolved.endsAt) >= Date.parse(resolved.startsAt));
            const t2 = await fleet.ctl(['alerts']);
            assert.match(t2.stdout, /^resolved\s+WsfleetBreakerOpen\s+0\s/m, t2.stdout);
            console.log(`wsctl alerts once resolved:\n${t2.stdout}`);
            const resolvedLines =
                await fleet.waitLines(/alert resolved: WsfleetBreakerOpen slot=0 /);
            assert.equal(resolvedLines.length, 1, fleet.tail());
            const ended = (await getJson(`${base}/api/events?since=${fired[0].id}`)).events;
            assert.ok(ended.some((e) => e.kind === 'alert' && e.slot === 0 &&
                /^resolved WsfleetBreakerOpen /.test(e.text)), JSON.stringify(ended));
            assert.deepEqual((await getJson(`${base}/api/alerts`)).firing, []);
            assert.match(await (await fetch(`${base}/metrics`)).text(),
                /^wsfleet_alerts_firing\{alertname="WsfleetBreakerOpen"\} 0$/m);
        });

    test('a reload that switches a rule off resolves its firing alert', async () => {
        const trip = await fleet.ctl(['breaker', 'trip', '0']);
        assert.equal(trip.code, 0, trip.stderr);
        try {
            const firing = await waitFor(async () => find(await am.alerts(), 'WsfleetBreakerOpen',
                0), WAIT_MS, 'WsfleetBreakerOpen in Alertmanager', () => fleet.tail());
            const off = { ...sections, alerts: { ...sections.alerts, breaker_open: 'no' } };
            fs.writeFileSync(fleet.configPath,
                iniText({ workers: { ...TEST_WORKERS, count: 2 }, ...off }));
            const reload = await fleet.ctl(['reload']);
            assert.equal(reload.code, 0, `${reload.stdout}${reload.stderr}`);
            await waitFor(async () => (await ctlAlerts(fleet)).firing.length === 0, WAIT_MS,
                'WsfleetBreakerOpen resolved after the reload', () => fleet.tail());
            await waitResolved(am, fleet, [firing]);
        } finally {
            // Closed first, so that the rule switched on again finds nothing to fire about.
            const reset = await fleet.ctl(['breaker', 'reset', '0']);
            assert.equal(reset.code, 0, reset.stderr);
            fs.writeFileSync(fleet.configPath,
                iniText({ workers: { ...TEST_WORKERS, count: 2 }, ...sections }));
            const reload = await fleet.ctl(['reload']);
            assert.equal(reload.code, 0, `${reload.stdout}${reload.stderr}`);
        }
    });

    test('a failed slot fires WsfleetSlotFailed and WsfleetFleetDegraded; scaling it away ' +
        'resolves both', async () => {
        const crash = await fleet.ctl(['fault', '1', 'crash']);
        assert.equal(crash.code, 0, crash.stderr);
        const list = await waitFor(async () => {
            const l = await am.alerts();
            return find(l, 'WsfleetSlotFailed', 1) && find(l, 'WsfleetFleetDegraded') ? l : null;
        }, WAIT_MS, 'WsfleetSlotFailed and WsfleetFleetDegraded in Alertmanager',
        () => `${fleet.tail()}\n${am.log}`);
        const failed = find(list, 'WsfleetSlotFailed', 1);
        assert.equal(failed.status.state, 'active');
        assert.equal(find(list, 'WsfleetFleetDegraded').labels.severity, 'critical');
        const workers = await fleet.workers();
        assert.equal(workers.find((w) => w.slot === 1)?.state, 'failed', JSON.stringify(workers));

        const scale = await fleet.ctl(['scale', '1']);
        assert.equal(scale.code, 0, scale.stderr);
        await waitResolved(am, fleet, [failed, find(list, 'WsfleetFleetDegraded')]);
        const doc = await waitFor(async () => {
            const d = await ctlAlerts(fleet);
            return d.firing.length === 0 ? d : null;
        }, WAIT_MS, 'no firing alert in wsctl alerts');
        for (const name of ['WsfleetSlotFailed', 'WsfleetFleetDegraded']) {
            assert.ok(doc.recent.some((a) => a.alertname === name && a.state === 'resolved'),
                `${name} not among the resolved: ${JSON.stringify(doc)}`);
        }
    });

    test('the workers\' latency histograms and error counters feed the p99 and error-rate ' +
        'rules', async () => {
        // One worker is left (slot 0). Eight clients echo up to 600 messages a second, each
        // delayed 1 ms: nearly all timed events take longer than the 0.5 ms threshold. Workers
        // time one event in 64 and the rule wants 20 of them in 10 s: 128 events a second do.
        const lat = await fleet.ctl(['fault', '0', 'latency', '--ms', '1', '--for', '60']);
        assert.equal(lat.code, 0, lat.stderr);
        const load = await echoLoad(fleet, 8);
        let traffic;
        try {
            const p99 = await waitFor(async () => find(await am.alerts(), 'WsfleetP99Latency'),
                WAIT_MS, 'WsfleetP99Latency in Alertmanager', () => fleet.tail());
            assert.match(p99.annotations.summary, /^p99 event latency [\d.]+ ms above 0\.500 ms$/);
            assert.equal(p99.labels.slot, undefined);
            const results = await load.stop();
            assert.ok(results.every((r) => r.status === 'fulfilled'),
                JSON.stringify(results.filter((r) => r.status !== 'fulfilled')));

            // Every message fails: errors well above 2/s.
            traffic = steadyTraffic(fleet, 20);
            const err = await fleet.ctl(['fault', '0', 'error', '--rate', '1', '--for', '60']);
            assert.equal(err.code, 0, err.stderr);
            const rate = await waitFor(async () => find(await am.alerts(), 'WsfleetErrorRate'),
                WAIT_MS, 'WsfleetErrorRate in Alertmanager', () => fleet.tail());
            assert.match(rate.annotations.summary, /^fleet error rate [\d.]+\/s above 2\.00\/s$/);
            const doc = await ctlAlerts(fleet);
            assert.ok(doc.firing.some((a) => a.alertname === 'WsfleetErrorRate' &&
                a.value > 2 && a.threshold === 2), JSON.stringify(doc));
        } finally {
            await fleet.ctl(['fault', '0', 'off']);
            await load.stop();
            await traffic?.stop();
        }
    });

    // Last: the sidecar stays down for the rest of the fleet's life.
    test('a nats-server sidecar that stays down fires WsfleetSidecarDown', async () => {
        const st = await fleet.status();
        assert.equal(st.nats?.mode, 'sidecar', JSON.stringify(st));
        assert.ok(st.nats.pid > 0, JSON.stringify(st));
        // One exit makes it failed (the fleet's [restart] fail_count = 1): retried in 60 s.
        signalPid(st.nats.pid, 'SIGKILL');
        const got = await waitFor(async () => find(await am.alerts(), 'WsfleetSidecarDown'),
            WAIT_MS, 'WsfleetSidecarDown in Alertmanager', () => `${fleet.tail()}\n${am.log}`);
        assert.equal(got.labels.severity, 'critical');
        assert.equal(got.annotations.summary, 'nats-server sidecar down');
    });
});
