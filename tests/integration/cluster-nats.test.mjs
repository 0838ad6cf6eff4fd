// wsfleetd against an external NATS that wants more than a token: TLS (its CA in [nats] tls_ca)
// and a user nkey ([nats] credentials, a seed file whose public key wsfleetd derives); the
// workers get the same through their flags. A stream that exists with other replicas is refused
// at start with one line and exit 2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
    fleetdPath, iniText, makeTempDir, runProgram, sleep, startFleet, stopFleet, waitGone,
} from './lib/fleet.mjs';
import { ChClient } from './lib/channels.mjs';

const WAIT_MS = 20000;
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function crc16(bytes) {
    let crc = 0;
    for (const b of bytes) {
        crc ^= b << 8;
        for (let i = 0; i < 8; i++) {
            crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
        }
    }
    return crc;
}

function base32(bytes) {
    let out = '';
    let acc = 0;
    let bits = 0;
    for (const b of bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += B32[(acc >> bits) & 31];
        }
        acc &= (1 << bits) - 1;
    }
    return bits > 0 ? out + B32[(acc << (5 - bits)) & 31] : out;
}

function withCrc(bytes) {
    const c = crc16(bytes);
    return Buffer.concat([bytes, Buffer.from([c & 0xff, c >> 8])]);
}

// A user nkey made here, apart from wsfleetd's code: { seed, pub }.
function makeUserNkey() {
    const raw = randomBytes(32);
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw]);
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
    return {
        seed: base32(withCrc(Buffer.concat([Buffer.from([144 | 5, 0]), raw]))),
        pub: base32(withCrc(Buffer.concat([Buffer.from([160]), pub]))),
    };
}

// nats-server with JetStream, TLS and one nkey user; resolves with { child, port, log() }.
async function startSecureNats(dir, nkey) {
    const cert = path.join(dir, 'nats.crt');
    const key = path.join(dir, 'nats.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj',
        '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: 'ignore' });
    const conf = path.join(dir, 'nats.conf');
    fs.writeFileSync(conf, [
        'host: "127.0.0.1"', 'port: -1', `ports_file_dir: "${dir}"`,
        `jetstream { store_dir: "${path.join(dir, 'js')}" }`,
        `tls { cert_file: "${cert}", key_file: "${key}" }`,
        `authorization { users: [ { nkey: "${nkey.pub}" } ] }`, '',
    ].join('\n'));
    const child = spawn('/usr/sbin/nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (c) => { log += c; });
    const file = path.join(dir, `nats-server_${child.pid}.ports`);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        try {
            const ports = JSON.parse(fs.readFileSync(file, 'utf8'));
            return { child, cert, port: Number(new URL(ports.nats[0]).port), log: () => log };
        } catch {
            if (Date.now() > deadline) {
                child.kill('SIGKILL');
                throw new Error(`nats-server did not start:\n${log}`);
            }
            await sleep(20);
        }
    }
}

describe('a NATS with TLS and nkey credentials', () => {
    const dir = makeTempDir();
    const nkey = makeUserNkey();
    let nats;
    let seedFile;
    let fleet;

    before(async () => {
        nats = await startSecureNats(dir, nkey);
        seedFile = path.join(dir, 'user.nk');
        fs.writeFileSync(seedFile, `${nkey.seed}\n`, { mode: 0o600 });
    });

    after(async () => {
        const msg = await stopFleet(fleet);
        if (nats) {
            // Gone before its directory goes: it writes its store until it exits.
            nats.child.kill('SIGTERM');
            if ((await waitGone([nats.child.pid], WAIT_MS)).length > 0) {
                nats.child.kill('SIGKILL');
                await waitGone([nats.child.pid], WAIT_MS);
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(msg, null, msg ?? '');
    });

    test('wsfleetd and its workers connect with the seed over TLS; delivery works', async () => {
        fleet = await startFleet({
            workers: { count: 2 },
            sections: {
                nats: {
                    url: `tls://127.0.0.1:${nats.port} , tls://127.0.0.1:${nats.port}`,
                    credentials: seedFile, tls_ca: nats.cert,
                },
                channels: { history_size: 10 },
            },
        });
        const c = await ChClient.open(`ws://127.0.0.1:${fleet.port}/channels`);
        try {
            assert.ok((await c.cmd('connect', {})).connect);
            let sub;
            const deadline = Date.now() + WAIT_MS;
            while (!(sub = await c.cmd('subscribe', { channel: 'sec' })).subscribe) {
                assert.ok(Date.now() < deadline, JSON.stringify(sub) + fleet.tail(4000));
                await sleep(100);
            }
            let r;
            while ((r = await fleet.ctl(['publish', 'sec', '{"n":1}'])).code !== 0) {
                assert.ok(Date.now() < deadline, r.stderr + fleet.tail(4000));
                await sleep(100);
            }
            const [pub] = await c.pubsOf('sec', 1, WAIT_MS);
            assert.deepEqual(pub.data, { n: 1 });
        } finally {
            c.close();
        }
        // Every worker was given the credentials and the CA, not just wsfleetd.
        const st = JSON.parse((await fleet.ctl(['--json', 'workers'])).stdout);
        const pids = (st.workers ?? st).map((w) => w.pid).filter((p) => p > 0);
        assert.ok(pids.length >= 1);
        for (const pid of pids) {
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
            assert.ok(cmd.includes(`--nats-credentials ${seedFile} --nats-tls-ca ${nats.cert}`), cmd);
        }
        // The server saw nkey-authenticated TLS clients, never a failed authorization.
        assert.doesNotMatch(nats.log(), /Authorization Error/);
    });

    test('a stream with other replicas: one line, exit 2, nothing started', async () => {
        const run = path.join(dir, 'run-r3');
        const ini = path.join(dir, 'r3.ini');
        fs.writeFileSync(ini, iniText({
            nats: { url: `tls://127.0.0.1:${nats.port}`, credentials: seedFile, tls_ca: nats.cert },
            channels: { replicas: 3 },
        }));
        const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
            '127.0.0.1:0', '--run-dir', run], WAIT_MS);
        assert.equal(r.code, 2, `${r.signal} ${r.stderr}`);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        assert.equal(lines.filter((l) => /error/.test(l)).length, 1, r.stderr);
        assert.match(r.stderr, /stream WSF exists with replicas 1, \[channels\] replicas is 3/);
        assert.doesNotMatch(r.stderr, /started worker pid/);
    });

    test('an unreadable credentials file is refused before anything starts', async () => {
        const ini = path.join(dir, 'missing.ini');
        fs.writeFileSync(ini, iniText({
            nats: { url: `nats://127.0.0.1:${nats.port}`, credentials: path.join(dir, 'nope.creds') },
        }));
        const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
            '127.0.0.1:0', '--run-dir', path.join(dir, 'run-missing')], WAIT_MS);
        assert.equal(r.code, 2, r.stderr);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /\[nats\] credentials .*nope\.creds: No such file or directory/);
    });

    test('a credentials file that group or others may read is refused, as ssh refuses a key',
        async () => {
            const open = path.join(dir, 'open.nk');
            fs.copyFileSync(seedFile, open);
            fs.chmodSync(open, 0o640);
            const ini = path.join(dir, 'open.ini');
            fs.writeFileSync(ini, iniText({
                nats: { url: `tls://127.0.0.1:${nats.port}`, credentials: open, tls_ca: nats.cert },
            }));
            const run = path.join(dir, 'run-open');
            const r = await runProgram(fleetdPath(), ['--foreground', '-c', ini, '--listen',
                '127.0.0.1:0', '--run-dir', run], WAIT_MS);
            assert.equal(r.code, 2, r.stderr);
            const lines = r.stderr.split('\n').filter((l) => l !== '');
            assert.equal(lines.length, 1, r.stderr);
            assert.match(lines[0],
                /\[nats\] credentials .*open\.nk: mode 0640 lets group or others at the secret; chmod 600 it/);
            assert.ok(!fs.existsSync(run), 'nothing started');
        });
});
