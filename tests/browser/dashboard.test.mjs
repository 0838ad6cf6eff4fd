// The dashboard in real browsers: Debian's chromium and firefox-esr, headless, through
// puppeteer-core, on a real fleet's admin server (a free loopback port) under wsload traffic.
// The page lists the workers; a SIGKILLed worker's row shows its successor's PID within 3 s of
// the page's own clock; a scale posted through the page (its confirm accepted, the token typed
// into its field) changes the rows; the cluster panel lists the fleet itself; a breaker tripped
// through the page shows in the alerts table until a reset through the page; markup in server
// strings renders as text under the page's CSP. WSF_SCREENSHOT names a PNG to write of the page
// under load (ctest: the build dir, from Chromium). WSF_BROWSERS (chromium,firefox) picks the
// browsers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { signalPid, startFleet, stopFleet } from '../integration/lib/fleet.mjs';
import { slow } from '../integration/lib/worker.mjs';
import { startWsload } from '../integration/lib/wsload.mjs';
import { chosenBrowsers, launch, shutdown } from './launch.mjs';
import { WAIT_MS, waitFor } from './lib.mjs';

const chosen = chosenBrowsers();
const MARKUP = '<img src=x onerror="window.wsfXss=1">';
// The bound from a kill to the new PID on the page; the feed sends a snapshot a second.
const KILL_TO_ROW_MS = slow(3000);

function adminBase(fleet) {
    const m = /admin listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(fleet.stderr);
    assert.ok(m, `no admin listening line:\n${fleet.tail()}`);
    return m[1];
}

describe('the dashboard in real browsers', () => {
    let fleet;
    let base;
    let token;
    let load;

    before(async () => {
        // A tripped breaker fires WsfleetBreakerOpen after 1 s (the alerts table's row).
        fleet = await startFleet({ workers: { count: 2 },
            sections: { alerts: { breaker_open_for: 1 } } });
        base = adminBase(fleet);
        token = fs.readFileSync(path.join(fleet.runDir, 'admin.token'), 'utf8').trim();
        // Traffic for the charts: 16 clients echoing 40 messages a second each (below the
        // workers' per-connection limit), reconnecting after the kill.
        load = startWsload(['--port', String(fleet.port), '--connections', '16', '--rate', '40',
            '--duration', '120']);
    });

    after(async () => {
        if (load) {
            signalPid(load.pid, 'SIGKILL');
            await load.done;
        }
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    const postEvent = async (kind, text) => {
        const r = await fetch(`${base}/api/events`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
            body: JSON.stringify({ kind, text }),
        });
        assert.equal(r.status, 200, await r.text());
    };

    for (const name of chosen) {
        test(`${name}: worker rows, a killed worker's new PID, a scale through the page, `
            + 'server text as text', async () => {
            const run = await launch(name, WAIT_MS * 2);
            const logs = [];
            try {
                const page = await run.browser.newPage();
                await page.setViewport({ width: 1280, height: 800 });
                page.on('console', (m) => logs.push(`console: ${m.text()}`));
                page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
                const detail = () => `${logs.join('\n')}\n${fleet.tail(3000)}`;
                const dialogs = [];
                page.on('dialog', (d) => {
                    dialogs.push(d.message());
                    d.accept().catch((err) => logs.push(`dialog: ${err.message}`));
                });

                // The page and its CSP.
                const head = await fetch(`${base}/`);
                assert.equal(head.status, 200);
                const csp = head.headers.get('content-security-policy') ?? '';
                assert.match(csp, /(^|;)\s*default-src 'self'(;|$)/, csp);
                const res = await page.goto(`${base}/`, { waitUntil: 'load', timeout: WAIT_MS });
                assert.equal(res.status(), 200);
                const rows = () => page.$$eval('#workers tbody tr',
                    (trs) => trs.map((tr) => ({ slot: Number(tr.dataset.slot),
                        pid: Number(tr.dataset.pid) || 0 })));
                let last;
                const until = (pred, what) => waitFor(async () => {
                    last = await rows();
                    return pred(last) ? last : null;
                }, WAIT_MS, `${name}: ${what}`, () => `${JSON.stringify(last)}\n${detail()}`);

                // N worker rows, with the fleet's PIDs.
                const n = (await fleet.status()).workers_desired;
                const shown = await until((r) => r.length === n && r.every((w) => w.pid > 0),
                    `${n} worker rows with PIDs`);
                const workers = await fleet.workers();
                assert.deepEqual(shown.map((w) => w.pid).sort(),
                    workers.map((w) => w.pid).sort());

                // The cluster panel (GET /api/cluster): this fleet, heard on its own NATS.
                const cluster = await waitFor(() => page.evaluate(() => {
                    const tr = document.querySelector('#cluster-fleets tbody tr');
                    return !document.querySelector('#cluster').hidden && tr
                        ? [...tr.children].map((td) => td.textContent) : null;
                }), WAIT_MS, `${name}: the cluster panel`, detail);
                assert.equal(cluster[1], 'running', JSON.stringify(cluster));
                assert.equal(cluster[6], String(fleet.pid), JSON.stringify(cluster));

                // SIGKILL slot 0's worker: the page's clock times the change of its row's PID.
                const victim = shown.find((w) => w.slot === 0).pid;
                const t0 = await page.evaluate((pid) => {
                    window.wsfPidChange = null;
                    const body = document.querySelector('#workers tbody');
                    const check = () => {
                        const tr = body.querySelector('tr[data-slot="0"]');
                        const now = Number(tr?.dataset.pid) || 0;
                        if (window.wsfPidChange === null && now !== 0 && now !== pid) {
                            window.wsfPidChange = { t: performance.now(), pid: now };
                        }
                    };
                    new MutationObserver(check).observe(body, { childList: true, subtree: true });
                    return performance.now();
                }, victim);
                assert.ok(signalPid(victim, 'SIGKILL'));
                const change = await waitFor(
                    () => page.evaluate(() => window.wsfPidChange), WAIT_MS,
                    `${name}: slot 0's row with a new PID`, detail);
                const ms = change.t - t0;
                console.log(`${name}: slot 0's row showed PID ${change.pid} ${ms.toFixed(0)} ms `
                    + `after the kill of ${victim} (page clock)`);
                assert.ok(ms < KILL_TO_ROW_MS, `${ms} ms to the new PID on the page`);
                const now = (await fleet.workers()).find((w) => w.slot === 0);
                assert.equal(now?.pid, change.pid, JSON.stringify(now));

                // A scale through the page: the token in its field, the confirm accepted.
                await page.type('#token', token);
                const scaled = await waitFor(async () => {
                    await page.click('#scale-count');
                    await page.keyboard.down('Control');
                    await page.keyboard.press('KeyA');
                    await page.keyboard.up('Control');
                    await page.keyboard.type(String(n + 1));
                    await page.click('#scale');
                    return dialogs.some((m) => m === `Scale the fleet to ${n + 1} workers?`);
                }, WAIT_MS, `${name}: the scale's confirm`, () => `${dialogs}\n${detail()}`);
                assert.ok(scaled);
                await until((r) => r.length === n + 1 && r.every((w) => w.pid > 0),
                    `${n + 1} worker rows after the scale`);
                const result = await page.$eval('#action-result', (e) => e.textContent);
                assert.doesNotMatch(result, /^\d{3}:|failed/, result);
                assert.equal((await fleet.status()).workers_desired, n + 1);

                // A drill as wschaos posts it: the panel shows its name, objectives and result;
                // markup in a drill line and a timeline line stays text.
                const drill = `demo-${name}`;
                for (const text of [`${drill}: start: a drill ${MARKUP}`,
                    `${drill}: objective pending max affected = 0`,
                    `${drill}: 1.00s phase ${MARKUP}`,
                    `${drill}: objective PASS max affected = 0 (0)`,
                    `${drill}: result PASS (1 of 1 objectives held)`]) {
                    await postEvent('drill', text);
                }
                await postEvent('log', `line ${name}: ${MARKUP}`);
                const seen = await waitFor(() => page.evaluate((d, b) => {
                    const phase = [...document.querySelectorAll('#drill-events li')]
                        .find((li) => li.textContent.includes(`${d}: 1.00s phase`));
                    const line = [...document.querySelectorAll('#events li')]
                        .find((li) => li.textContent.includes(`line ${b}`));
                    const state = document.querySelector('#drill-state').textContent;
                    if (!phase || !line || !state.startsWith('PASS')) {
                        return null;
                    }
                    const r = phase.getBoundingClientRect();
                    return {
                        phase: phase.textContent, line: line.textContent, state,
                        name: document.querySelector('#drill-name').textContent,
                        about: document.querySelector('#drill-about').textContent,
                        objectives: [...document.querySelectorAll('#drill-objectives tbody tr')]
                            .map((tr) => [...tr.children].map((td) => td.textContent)),
                        visible: !document.querySelector('#drill').hidden && r.height > 0,
                        imgs: document.querySelectorAll('img').length,
                        xss: window.wsfXss ?? null,
                    };
                }, drill, name), WAIT_MS, `${name}: the posted events on the page`, detail);
                assert.ok(seen.phase.endsWith(`${drill}: 1.00s phase ${MARKUP}`), seen.phase);
                assert.ok(seen.line.endsWith(`line ${name}: ${MARKUP}`), seen.line);
                assert.equal(seen.name, drill);
                assert.equal(seen.about, `a drill ${MARKUP}`);
                assert.deepEqual(seen.objectives, [['max affected = 0', 'PASS', '0']]);
                assert.equal(seen.state, 'PASS (1 of 1 objectives held)');
                assert.equal(seen.visible, true);
                assert.equal(seen.imgs, 0);
                assert.equal(seen.xss, null);

                // Slot 0's breaker tripped through the page (its third button, the confirm
                // accepted): the alerts table shows WsfleetBreakerOpen, and a reset through the
                // page takes the row away.
                const breakerButton =
                    '#workers tr[data-slot="0"] td:last-child button:nth-child(3)';
                const clickUntil = (question) => waitFor(async () => {
                    await page.click(breakerButton).catch(() => {});
                    return dialogs.includes(question);
                }, WAIT_MS, `${name}: the confirm "${question}"`, () => `${dialogs}\n${detail()}`);
                const alertRow = () => page.evaluate(() => {
                    const tr = document.querySelector(
                        '#alerts-firing tbody tr[data-alertname="WsfleetBreakerOpen"]');
                    return tr ? {
                        cls: tr.className,
                        cells: [...tr.children].map((td) => td.textContent),
                        count: document.querySelector('#alerts-count').textContent,
                    } : null;
                });
                await clickUntil('Trip the breaker of slot 0?');
                const firing = await waitFor(alertRow, WAIT_MS,
                    `${name}: WsfleetBreakerOpen in the alerts table`, detail);
                assert.equal(firing.cls, 'severity-warning', JSON.stringify(firing));
                assert.deepEqual(firing.cells.slice(0, 3), ['WsfleetBreakerOpen', '0', 'warning']);
                assert.notEqual(firing.cells[3], '', JSON.stringify(firing));
                assert.match(firing.cells[4], /breaker of slot 0 open/);
                assert.match(firing.count, /^[1-9]\d* firing$/);
                await clickUntil('Reset the breaker of slot 0?');
                await waitFor(async () => (await alertRow()) === null, WAIT_MS,
                    `${name}: WsfleetBreakerOpen gone from the alerts table`, detail);

                if (process.env.WSF_SCREENSHOT && name === 'chromium') {
                    // Some seconds of traffic on the charts first.
                    await waitFor(async () => {
                        const r = await fetch(`${base}/api/history?seconds=300`);
                        const pts = (await r.json()).points.filter((p) => p.msgs_in > 0);
                        return pts.length >= 12;
                    }, WAIT_MS, 'twelve seconds of traffic in the history');
                    await new Promise((resolve) => { setTimeout(resolve, 1500); });
                    await page.screenshot({ path: process.env.WSF_SCREENSHOT, type: 'png' });
                    assert.ok(fs.statSync(process.env.WSF_SCREENSHOT).size > 10000);
                    console.log(`screenshot: ${process.env.WSF_SCREENSHOT}`);
                }
                assert.deepEqual(logs.filter((l) => l.startsWith('pageerror')), []);
            } finally {
                await shutdown(run);
            }
        });
    }
});
