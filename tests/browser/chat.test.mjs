// The chat example (examples/chat) in real browsers: a fleet with examples/chat/wsfleet.ini's
// sections (its own port and run dir), the chat backend (node backend.mjs) serving its page, and
// two pages as two users. A room message reaches the other page, the member list comes by rpc, a
// whisper (a push to one user) shows on its target page only, and a reloaded page shows the room's
// history. WSF_BROWSERS (chromium,firefox) picks the browsers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, startFleet, stopFleet } from '../integration/lib/fleet.mjs';
import { chosenBrowsers, launch, shutdown } from './launch.mjs';
import { WAIT_MS, waitFor } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CHAT = path.join(ROOT, 'examples', 'chat');
const chosen = chosenBrowsers();

// The sections of an INI file, without [fleet] (the test fleet takes its own listen and run dir).
function iniSections(file) {
    const sections = {};
    let cur = null;
    for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith(';') || line.startsWith('#')) {
            continue;
        }
        const head = /^\[(.+)\]$/.exec(line);
        if (head) {
            cur = head[1] === 'fleet' ? null : (sections[head[1]] = {});
            continue;
        }
        const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
        assert.ok(kv, `${file}: ${line}`);
        if (cur) {
            cur[kv[1]] = kv[2];
        }
    }
    return sections;
}

// The example laid out as in the tree (examples/chat beside web/client) in a temp dir, with the
// integration suite's node_modules (the `nats` package), so that the checkout stays untouched.
function chatCopy() {
    const dir = makeTempDir();
    const chat = path.join(dir, 'examples', 'chat');
    fs.cpSync(CHAT, chat, { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'tests', 'integration', 'node_modules'),
        path.join(chat, 'node_modules'));
    fs.symlinkSync(path.join(ROOT, 'web'), path.join(dir, 'web'));
    return { dir, backend: path.join(chat, 'backend.mjs') };
}

// Spawns the chat backend; resolves with { child, url, exited, output() } once it serves its page.
async function startBackend(file, runDir, ws) {
    const child = spawn(process.execPath, [file, '--run-dir', runDir, '--http', '127.0.0.1:0',
        '--ws', ws], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const url = await waitFor(() => /page on (http:\/\/\S+)/.exec(out)?.[1], WAIT_MS,
        'the chat backend serving its page', () => out);
    return { child, url, exited, output: () => out };
}

describe('the chat example in real browsers', () => {
    let fleet;
    let copy;
    let be;
    before(async () => {
        fleet = await startFleet({ sections: iniSections(path.join(CHAT, 'wsfleet.ini')) });
        copy = chatCopy();
        be = await startBackend(copy.backend, fleet.runDir, fleet.url('/channels'));
    });
    after(async () => {
        if (be && be.child.exitCode === null && be.child.signalCode === null) {
            be.child.kill('SIGTERM');
            assert.deepEqual(await be.exited, { code: 0, signal: null }, be.output());
        }
        if (copy) {
            fs.rmSync(copy.dir, { recursive: true, force: true });
        }
        const msg = await stopFleet(fleet);
        assert.equal(msg, null, msg ?? '');
    });

    for (const name of chosen) {
        test(`${name}: two users chat, list members, whisper, and see history after a reload`,
            async () => {
                const run = await launch(name);
                const logs = [];
                const diag = () => `${logs.join('\n')}\nbackend:\n${be.output()}\n${fleet.tail(3000)}`;
                try {
                    // A page joined as `user`; its texts are read from the DOM.
                    const open = async (user, page = null) => {
                        const p = page ?? await run.browser.newPage();
                        if (!page) {
                            p.on('console', (m) => logs.push(`${user} console: ${m.text()}`));
                            p.on('pageerror', (e) => logs.push(`${user} pageerror: ${e.message}`));
                            p.on('response', (r) => {
                                if (r.status() >= 400) {
                                    logs.push(`${user} ${r.status()} ${r.url()}`);
                                }
                            });
                        }
                        await p.goto(be.url, { waitUntil: 'load', timeout: WAIT_MS });
                        await fill(p, '#name', user);
                        await press(p, '#join button');
                        await until(async () => (await text(p, '#status')) === `connected as ${user}`,
                            `${user} connected`);
                        return p;
                    };
                    // Only the page in front renders, and puppeteer waits for an element to be
                    // in view before it types or clicks.
                    const fill = async (p, sel, value) => {
                        await p.bringToFront();
                        await p.type(sel, value);
                    };
                    const press = async (p, sel) => {
                        await p.bringToFront();
                        await p.click(sel);
                    };
                    const text = (p, sel) => p.$eval(sel, (e) => e.textContent);
                    const lines = (p, sel) => p.$$eval(`${sel} > li`, (l) => l.map((e) => e.textContent));
                    const until = (pred, what) => waitFor(pred, WAIT_MS, `${name}: ${what}`,
                        diag);
                    const hasLine = (p, sel, want) => until(
                        async () => (await lines(p, sel)).includes(want), `${want} in ${sel}`);

                    const alice = await open('alice');
                    const bob = await open('bob');
                    assert.equal(await text(alice, '#room'), '#lobby');

                    // A room message from alice shows on both pages.
                    await fill(alice, '#text', 'hello bob');
                    await press(alice, '#say button');
                    await hasLine(bob, '#messages', 'alicehello bob');
                    await hasLine(alice, '#messages', 'alicehello bob');

                    // The member list by rpc (bob joined after alice's page listed them).
                    await until(async () => (await lines(bob, '#members')).length === 2, 'bob lists 2');
                    assert.deepEqual(await lines(bob, '#members'), ['alice', 'bob (you)']);
                    await press(alice, '#refresh');
                    await until(async () => (await lines(alice, '#members')).length === 2,
                        'alice lists 2');
                    assert.deepEqual(await lines(alice, '#members'), ['alice (you)', 'bob']);

                    // A whisper: a push to bob's connections only.
                    await press(alice, '#members > li:nth-child(2)'); // fills "to" with bob
                    assert.equal(await alice.$eval('#to', (e) => e.value), 'bob');
                    await fill(alice, '#wtext', 'psst');
                    await press(alice, '#whisper button');
                    await hasLine(bob, '#messages', 'alice → youpsst');
                    await hasLine(alice, '#messages', 'you → bobpsst');
                    // Anything for alice pushed with the whisper would be there by the time a later
                    // room message is.
                    await fill(bob, '#text', 'got it');
                    await press(bob, '#say button');
                    await hasLine(alice, '#messages', 'bobgot it');
                    assert.ok(!(await lines(alice, '#messages')).some((l) => l.includes('→ you')),
                        JSON.stringify(await lines(alice, '#messages')));
                    assert.deepEqual((await lines(bob, '#messages')).filter((l) => l.includes('→')),
                        ['alice → youpsst']);

                    // A reload: bob joins again and the lobby's history is there, in order.
                    await open('bob', bob);
                    await until(async () => (await lines(bob, '#messages')).length >= 2,
                        'the history after the reload');
                    assert.deepEqual(await lines(bob, '#messages'), ['alicehello bob', 'bobgot it']);
                    assert.deepEqual(logs.filter((l) => l.includes('pageerror')), []);
                } catch (err) {
                    err.message += `\n${diag()}`;
                    throw err;
                } finally {
                    await shutdown(run);
                }
            });
    }
});
