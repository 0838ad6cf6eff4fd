// The browser client in real browsers: Debian's chromium and firefox-esr, headless, driven by
// puppeteer-core (CDP for Chromium, WebDriver BiDi for Firefox). A test page served from loopback
// loads web/client/wsfleet.js and subscribes to a channel of a real fleet; wsctl publishes while
// the test SIGKILLs the worker holding the browser's connection and then drains the next one. Every
// publication must arrive exactly once and in order, after a 1006 and a 1001 the client came back
// from by itself. WSF_BROWSERS (chromium,firefox) picks the browsers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalPid, stopFleet } from '../integration/lib/fleet.mjs';
import { chosenBrowsers, launch, shutdown } from './launch.mjs';
import {
    CLIENT_DIR, ctlPublish, ownerOf, startChannelsFleet, WAIT_MS, waitFor,
} from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const chosen = chosenBrowsers();

// Serves the test page and the client library on 127.0.0.1, nothing else.
async function startPageServer() {
    const files = {
        '/': [path.join(HERE, 'client-page.html'), 'text/html; charset=utf-8'],
        '/wsfleet.js': [path.join(CLIENT_DIR, 'wsfleet.js'), 'text/javascript; charset=utf-8'],
    };
    const server = http.createServer((req, res) => {
        const f = files[new URL(req.url, 'http://x').pathname];
        if (!f || req.method !== 'GET') {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { 'content-type': f[1], 'cache-control': 'no-store' });
        res.end(fs.readFileSync(f[0]));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

describe('the client in real browsers', () => {
    let fleet;
    let pages;
    before(async () => {
        fleet = await startChannelsFleet();
        await ctlPublish(fleet, 'app:warmup', 0);
        pages = await startPageServer();
    });
    after(async () => {
        pages?.server.closeAllConnections();
        pages?.server.close();
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    for (const name of chosen) {
        test(`${name}: resumes after a killed worker and a drain, every publication once and in `
            + 'order', async () => {
            const run = await launch(name);
            const logs = [];
            try {
                const page = await run.browser.newPage();
                page.on('console', (m) => logs.push(`console: ${m.text()}`));
                page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
                await page.goto(pages.url, { waitUntil: 'load', timeout: WAIT_MS });
                await page.waitForFunction(() => window.wsfReady === true, { timeout: WAIT_MS });
                const state = () => page.evaluate(() => JSON.parse(JSON.stringify(window.wsfTest)));
                let last;
                const until = (pred, what) => waitFor(async () => {
                    last = await state();
                    return pred(last) ? last : null;
                }, WAIT_MS, `${name}: ${what}`, () => `${JSON.stringify(last)}\n${logs.join('\n')}`
                    + `\n${fleet.tail(3000)}`);

                const channel = `app:browser-${name}`;
                const client = await page.evaluate((u, ch) => window.wsfStart(u, ch),
                    fleet.url('/channels'), channel);
                assert.match(client, /.+/);
                const sent = [];
                const publish = async (n) => {
                    for (let i = 0; i < n; i++) {
                        const data = { n: sent.length, from: name };
                        sent.push({ offset: await ctlPublish(fleet, channel, data), data });
                    }
                };

                await publish(3);
                await until((t) => t.pubs.length >= 3, 'the first publications');

                // A worker killed outright: the browser sees 1006 and comes back by itself,
                // with what was published meanwhile.
                const first = await ownerOf(fleet, channel);
                assert.ok(signalPid(first.pid, 'SIGKILL'));
                await publish(3);
                await until((t) => t.pubs.length >= 6 && t.disconnects.length >= 1 &&
                    t.states.at(-1) === 'connected', 'the resume after the kill');

                // The next worker drained: 1001, and back again.
                const second = await ownerOf(fleet, channel, first.pid);
                const r = await fleet.ctl(['drain', String(second.slot)]);
                assert.equal(r.code, 0, r.stderr);
                await publish(3);
                await until((t) => t.disconnects.some((d) => d.code === 1001) &&
                    t.states.at(-1) === 'connected' && t.pubs.length >= 9,
                'the resume after the drain');
                await ownerOf(fleet, channel, second.pid);
                await publish(3);
                const t = await until((x) => x.pubs.length >= 12, 'the last publications');

                assert.deepEqual(t.pubs, sent, 'every publication exactly once, in order');
                assert.deepEqual(t.gaps, []);
                const codes = t.disconnects.map((d) => d.code);
                assert.equal(codes[0], 1006, JSON.stringify(t.disconnects));
                assert.ok(codes.includes(1001), JSON.stringify(t.disconnects));
                assert.ok(t.disconnects.every((d) => d.reconnect === true),
                    JSON.stringify(t.disconnects));
                assert.ok(t.subscribed >= 3, `subscribed ${t.subscribed} times`);
                assert.equal(await page.$eval('#status', (e) => e.textContent), 'connected');
                await page.evaluate(() => window.wsfClient.close());
            } finally {
                await shutdown(run);
            }
        });
    }
});
