// Starting and stopping Debian's chromium and firefox-esr headless through puppeteer-core (CDP for
// Chromium, WebDriver BiDi for Firefox), each with a profile of its own, stopped by PID.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { pidAlive, signalPid, waitFor } from '../integration/lib/fleet.mjs';
import { WAIT_MS } from './lib.mjs';

export const BROWSERS = {
    chromium: {
        browser: 'chrome',
        executablePath: process.env.WSF_CHROMIUM ?? '/usr/bin/chromium',
        // Root in a container has no user namespaces for Chromium's sandbox.
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--no-default-browser-check'],
    },
    firefox: {
        browser: 'firefox',
        executablePath: process.env.WSF_FIREFOX ?? '/usr/bin/firefox-esr',
        args: [],
    },
};

// The browsers named in WSF_BROWSERS (default: both).
export function chosenBrowsers() {
    const chosen = (process.env.WSF_BROWSERS ?? 'chromium,firefox').split(',').filter(Boolean);
    for (const name of chosen) {
        if (!BROWSERS[name]) {
            throw new Error(`WSF_BROWSERS: unknown browser ${name} (chromium, firefox)`);
        }
    }
    return chosen;
}

// Launches `name` headless; resolves with { browser, pid, dir }. timeoutMs bounds the launch and
// every protocol call.
export async function launch(name, timeoutMs = WAIT_MS * 2) {
    const b = BROWSERS[name];
    assert.ok(fs.existsSync(b.executablePath),
        `${b.executablePath} is missing (scripts/install-deps installs chromium and firefox-esr)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wsf-${name}-`));
    try {
        const browser = await puppeteer.launch({
            browser: b.browser, executablePath: b.executablePath, headless: true, args: b.args,
            userDataDir: dir, protocolTimeout: timeoutMs, timeout: timeoutMs,
            handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
        });
        return { browser, pid: browser.process()?.pid, dir };
    } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
    }
}

// Closes the browser; whatever is left of its process group (it leads one) is SIGKILLed by PID.
export async function shutdown(run) {
    if (!run) {
        return;
    }
    let timer;
    await Promise.race([run.browser.close().catch(() => {}),
        new Promise((resolve) => { timer = setTimeout(resolve, 10000); })]);
    clearTimeout(timer);
    if (run.pid && pidAlive(run.pid)) {
        try {
            process.kill(-run.pid, 'SIGKILL');
        } catch {
            signalPid(run.pid, 'SIGKILL');
        }
        await waitFor(() => !pidAlive(run.pid), 10000, `${run.pid} gone`);
    }
    fs.rmSync(run.dir, { recursive: true, force: true });
}
