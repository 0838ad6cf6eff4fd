// [auth] JWT on real wsworkers: keys made here with openssl (an HS256 secret file, an RSA and an
// EC P-256 key pair), tokens signed here with node:crypto. /channels takes the token in connect
// (good, bad 4401, expired 4002, refreshed, subscribe = user|token), other routes take
// ?access_token= or Authorization: Bearer (bad → 401), --auth-required yes refuses anonymous
// clients, and a bad key file stops the worker at start with exit 100.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChClient, channelsConfig } from './lib/channels.mjs';
import { fleetdPath, runProgram, startFleet, stopFleet } from './lib/fleet.mjs';
import { startNats } from './lib/nats.mjs';
import {
    echo, httpExchange, openWs, runWorker, startWorker, stopWorker, upgradeRequest, wsClosed,
} from './lib/worker.mjs';

const CONFIG = `
[channels]
publish = client
[namespace u]
subscribe = user
[namespace t]
subscribe = token
`;

const dir = mkdtempSync(path.join(tmpdir(), 'wsf-auth-'));
const file = (name) => path.join(dir, name);

function openssl(...args) {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

const keys = {};
function makeKeys() {
    openssl('rand', '-hex', '-out', file('secret'), '32');
    chmodSync(file('secret'), 0o600);
    keys.secret = readFileSync(file('secret'), 'utf8').trim();
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('rsa.key'));
    openssl('pkey', '-in', file('rsa.key'), '-pubout', '-out', file('rsa.pub'));
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('ec.key'));
    openssl('pkey', '-in', file('ec.key'), '-pubout', '-out', file('ec.pub'));
    keys.rsa = createPrivateKey(readFileSync(file('rsa.key')));
    keys.ec = createPrivateKey(readFileSync(file('ec.key')));
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// A compact JWS of claims with alg; exp defaults to an hour from now.
function token(alg, claims = {}, { header = { alg, typ: 'JWT' } } = {}) {
    const body = { exp: now() + 3600, ...claims };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(body))}`;
    let sig;
    if (alg === 'HS256') {
        sig = createHmac('sha256', keys.secret).update(input).digest();
    } else if (alg === 'RS256') {
        sig = cryptoSign('sha256', Buffer.from(input), keys.rsa);
    } else {
        sig = cryptoSign('sha256', Buffer.from(input), { key: keys.ec, dsaEncoding: 'ieee-p1363' });
    }
    return `${input}.${b64u(sig)}`;
}

function tamper(tok) {
    const [h, p, s] = tok.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.sub = 'mallory';
    return `${h}.${b64u(JSON.stringify(claims))}.${s}`;
}

let nats;
const workers = {};

before(async () => {
    makeKeys();
    nats = await startNats();
    const base = ['--nats-url', nats.url, '--channels-config', channelsConfig(CONFIG)];
    workers.HS256 = await startWorker({ flags: [...base, '--auth-hmac-secret-file', file('secret')] });
    workers.RS256 = await startWorker({ flags: [...base, '--auth-public-key', file('rsa.pub')] });
    workers.off = await startWorker({ flags: base });
    workers.ES256 = await startWorker({
        flags: [...base, '--auth-public-key', file('ec.pub'), '--auth-required', 'yes'],
    });
});

after(async () => {
    const problems = [];
    for (const w of Object.values(workers)) {
        problems.push(await stopWorker(w));
    }
    await nats?.stop();
    assert.deepEqual(problems.filter(Boolean), []);
});

async function connect(worker, tok) {
    const c = await ChClient.open(worker.url('/channels'), { worker });
    const r = await c.cmd('connect', tok === undefined ? {} : { token: tok });
    return { c, r };
}

// The three algorithms' suites run side by side: each has its own worker, and most of their time
// is spent waiting for tokens to expire.
describe('tokens on /channels', { concurrency: true }, () => {
    for (const alg of ['HS256', 'RS256', 'ES256']) {
        describe(`${alg} on /channels`, () => {
            test('a good token makes sub the user', async () => {
                const { c, r } = await connect(workers[alg], token(alg, { sub: 'alice' }));
                assert.equal(r.connect?.user, 'alice', JSON.stringify(r));
                c.close();
            });

            test('a tampered token is error 101 and close 4401', async () => {
                const { c, r } = await connect(workers[alg], tamper(token(alg, { sub: 'alice' })));
                assert.equal(r.error?.code, 101, JSON.stringify(r));
                assert.equal((await c.closed).code, 4401);
            });

            test('a token of another algorithm is refused 4401', async () => {
                const other = alg === 'HS256' ? 'ES256' : 'HS256';
                const { c, r } = await connect(workers[alg], token(other, { sub: 'alice' }));
                assert.equal(r.error?.code, 101, JSON.stringify(r));
                assert.equal((await c.closed).code, 4401);
            });

            test('an expired token closes 4002 at connect', async () => {
                const { c, r } = await connect(workers[alg], token(alg, { sub: 'alice', exp: now() - 60 }));
                assert.equal(r.error?.code, 109, JSON.stringify(r));
                assert.equal((await c.closed).code, 4002);
            });

            test('a connection is closed 4002 once its token expires', async () => {
                const exp = now() + 3;
                const { c, r } = await connect(workers[alg], token(alg, { sub: 'alice', exp }));
                assert.equal(r.connect?.user, 'alice', JSON.stringify(r));
                const { code } = await c.closed;
                assert.equal(code, 4002);
                assert.ok(Date.now() / 1000 >= exp, `closed before exp ${exp}`);
            });

            test('refresh with a newer token for the same sub keeps the connection', async () => {
                const exp = now() + 3;
                const { c, r } = await connect(workers[alg], token(alg, { sub: 'alice', exp }));
                assert.equal(r.connect?.user, 'alice', JSON.stringify(r));
                const wrong = await c.cmd('refresh', { token: token(alg, { sub: 'bob' }) });
                assert.equal(wrong.error?.code, 101, JSON.stringify(wrong));
                const bad = await c.cmd('refresh', { token: tamper(token(alg, { sub: 'alice' })) });
                assert.equal(bad.error?.code, 101, JSON.stringify(bad));
                const newExp = now() + 3600;
                const ok = await c.cmd('refresh', { token: token(alg, { sub: 'alice', exp: newExp }) });
                assert.deepEqual(ok.refresh, { expires: newExp });
                // A refresh never shortens the connection's life: an earlier exp is refused and the
                // current expiry stays; the same exp again is accepted.
                const shorter = await c.cmd('refresh', { token: token(alg, { sub: 'alice', exp: now() + 60 }) });
                assert.equal(shorter.error?.code, 101, JSON.stringify(shorter));
                assert.match(shorter.error?.message ?? '', /expires before/);
                const same = await c.cmd('refresh', { token: token(alg, { sub: 'alice', exp: newExp }) });
                assert.deepEqual(same.refresh, { expires: newExp });
                // Past the old expiry (and its leeway), the connection still answers.
                while (now() <= exp + 4) {
                    await new Promise((resolve) => setTimeout(resolve, 250));
                }
                const sub = await c.cmd('subscribe', { channel: 'auth-refresh' });
                assert.ok(sub.subscribe, JSON.stringify(sub));
                c.close();
            });
        });
    }
});

describe('subscribe = user and token', () => {
    test('user namespaces need a sub, token namespaces the channel in the token', async () => {
        const w = workers.HS256;
        const anon = await connect(w);
        assert.equal(anon.r.connect?.user, '', JSON.stringify(anon.r));
        assert.equal((await anon.c.cmd('subscribe', { channel: 'u:room' })).error?.code, 103);
        assert.equal((await anon.c.cmd('subscribe', { channel: 't:a' })).error?.code, 103);
        assert.ok((await anon.c.cmd('subscribe', { channel: 'open' })).subscribe);
        anon.c.close();

        const { c, r } = await connect(w, token('HS256', { sub: 'alice', channels: ['t:a'] }));
        assert.equal(r.connect?.user, 'alice');
        assert.ok((await c.cmd('subscribe', { channel: 'u:room' })).subscribe);
        assert.ok((await c.cmd('subscribe', { channel: 't:a' })).subscribe);
        assert.equal((await c.cmd('subscribe', { channel: 't:b' })).error?.code, 103);
        c.close();

        // A token without sub is no user.
        const nosub = await connect(w, token('HS256', { channels: ['t:b'] }));
        assert.equal((await nosub.c.cmd('subscribe', { channel: 'u:room' })).error?.code, 103);
        assert.ok((await nosub.c.cmd('subscribe', { channel: 't:b' })).subscribe);
        nosub.c.close();
    });

    test('connect with subs follows the same rule', async () => {
        const w = workers.HS256;
        const c = await ChClient.open(w.url('/channels'), { worker: w });
        const r = await c.cmd('connect', {
            token: token('HS256', { sub: 'alice', channels: ['t:x'] }),
            subs: { 't:x': {}, 'u:y': {} },
        });
        assert.equal(r.connect?.user, 'alice', JSON.stringify(r));
        c.close();

        const d = await ChClient.open(w.url('/channels'), { worker: w });
        const refused = await d.cmd('connect', {
            token: token('HS256', { sub: 'alice', channels: ['t:x'] }), subs: { 't:z': {} },
        });
        assert.equal(refused.error?.code, 103, JSON.stringify(refused));
        assert.equal((await d.closed).code, 4403);
    });
});

describe('required = yes', () => {
    test('an anonymous connect is refused 4401', async () => {
        const { c, r } = await connect(workers.ES256);
        assert.equal(r.error?.code, 101, JSON.stringify(r));
        assert.equal((await c.closed).code, 4401);
    });

    test('/echo without a token is 401 with a reason body', async () => {
        const res = await httpExchange(workers.ES256, upgradeRequest({ path: '/echo' }).text);
        assert.equal(res.status, 401);
        assert.match(res.body.toString(), /Unauthorized/);
    });

    test('/echo with a Bearer token is served', async () => {
        const w = workers.ES256;
        const ws = await openWs(w, w.url('/echo'), {
            headers: { Authorization: `Bearer ${token('ES256', { sub: 'alice' })}` },
        });
        assert.equal((await echo(ws, 'hi')).data.toString(), 'hi');
        ws.close();
    });
});

describe('/echo tokens', () => {
    for (const alg of ['HS256', 'RS256']) {
        test(`${alg}: ?access_token= good is served, bad and expired are 401`, async () => {
            const w = workers[alg];
            const ws = await openWs(w, `${w.url('/echo')}?access_token=${token(alg, { sub: 'a' })}`);
            assert.equal((await echo(ws, 'x')).data.toString(), 'x');
            ws.close();
            for (const bad of [tamper(token(alg, { sub: 'a' })), token(alg, { exp: now() - 60 }), 'junk']) {
                const res = await httpExchange(w, upgradeRequest({ path: `/echo?access_token=${bad}` }).text);
                assert.equal(res.status, 401, bad);
                assert.match(res.body.toString(), /Unauthorized/);
            }
            const res = await httpExchange(w, upgradeRequest({
                path: '/echo', extra: [`Authorization: Bearer ${tamper(token(alg))}`],
            }).text);
            assert.equal(res.status, 401);
            // Optional auth: no token at all is served.
            const anon = await openWs(w);
            assert.equal((await echo(anon, 'y')).data.toString(), 'y');
            anon.close();
        });
    }

    test('an /echo connection is closed 4002 when its token expires', async () => {
        const w = workers.HS256;
        const exp = now() + 3;
        const ws = await openWs(w, `${w.url('/echo')}?access_token=${token('HS256', { exp })}`);
        const { code } = await wsClosed(ws, 20000);
        assert.equal(code, 4002);
        assert.ok(Date.now() / 1000 >= exp, `closed before exp ${exp}`);
    });
});

describe('auth off', () => {
    test('tokens are ignored: /echo with access_token is served, connect stays anonymous', async () => {
        const w = workers.off;
        const ws = await openWs(w, `${w.url('/echo')}?access_token=junk`);
        assert.equal((await echo(ws, 'z')).data.toString(), 'z');
        ws.close();
        const { c, r } = await connect(w, token('HS256', { sub: 'alice', channels: ['t:a'] }));
        assert.equal(r.connect?.user, '', JSON.stringify(r));
        assert.equal((await c.cmd('subscribe', { channel: 't:a' })).error?.code, 103);
        c.close();
    });
});

describe('key files at start', () => {
    test('a secret readable by others, a bad PEM and required without a key exit 100', async () => {
        writeFileSync(file('open-secret'), 'shared\n');
        chmodSync(file('open-secret'), 0o644);
        writeFileSync(file('bad.pem'), 'not a key\n');
        const cases = [
            [['--auth-hmac-secret-file', file('open-secret')], /open-secret: must not be accessible/],
            [['--auth-public-key', file('bad.pem')], /bad\.pem: not a PEM public key/],
            [['--auth-public-key', file('missing.pem')], /missing\.pem: cannot open/],
            [['--auth-required', 'yes'], /--auth-required yes needs/],
        ];
        for (const [flags, re] of cases) {
            const r = await runWorker(['--listen', '127.0.0.1:0', ...flags]);
            assert.equal(r.code, 100, `${flags.join(' ')}: ${r.stderr}`);
            assert.match(r.stderr + r.stdout, re);
        }
    });
});

describe('wsfleetd [auth]', () => {
    test('the workers get the key paths: required refuses /echo without a token', async () => {
        const fleet = await startFleet({
            sections: { auth: { hmac_secret_file: file('secret'), required: 'yes' } },
        });
        try {
            const res = await httpExchange(fleet, upgradeRequest({ path: '/echo' }).text);
            assert.equal(res.status, 401);
            const ws = await openWs(fleet, fleet.url('/echo'), {
                headers: { Authorization: `Bearer ${token('HS256', { sub: 'a' })}` },
            });
            assert.equal((await echo(ws, 'fleet')).data.toString(), 'fleet');
            ws.close();
        } finally {
            await stopFleet(fleet);
        }
    });

    test('a secret readable by others stops wsfleetd at start with exit 2', async () => {
        writeFileSync(file('fleet-open-secret'), 'shared\n');
        chmodSync(file('fleet-open-secret'), 0o644);
        writeFileSync(file('fleet.ini'), `[auth]\nhmac_secret_file = ${file('fleet-open-secret')}\n`);
        const r = await runProgram(fleetdPath(), [
            '--foreground', '-c', file('fleet.ini'), '--listen', '127.0.0.1:0', '--run-dir', file('run'),
        ]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /\[auth\] hmac_secret_file .*fleet-open-secret: must not be accessible/);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
});
