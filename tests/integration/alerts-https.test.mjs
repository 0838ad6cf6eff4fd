// Alerts POSTed to https:// webhooks: Node https servers on loopback with certificates made here
// by openssl (a CA of the test's, given to wsfleetd as [alerts] webhook_ca, and one it does not
// trust). A receiver whose certificate the CA signed for 127.0.0.1 gets the Alertmanager v2
// batch, by IP address and by name; one signed for another name, one signed by the untrusted CA
// and one that speaks TLS 1.1 at most get no request, and wsfleetd logs their delivery as failing
// with the verification (or TLS) error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
    fleetdPath, makeTempDir, runProgram, startFleet, stopFleet, waitFor,
} from './lib/fleet.mjs';
import { slow } from './lib/worker.mjs';

const FLEET_LABEL = `it-alerts-https-${process.pid}`;
const WAIT_MS = slow(20000);

function openssl(args) {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA (P-256, self-signed, CA:TRUE) in dir; returns its certificate and key paths.
function makeCa(dir, name) {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=wsfleet test ${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { cert, key };
}

// A server certificate for subjectAltName san, signed by ca; returns its certificate and key.
function makeServerCert(dir, name, ca, san) {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const ext = path.join(dir, `${name}.ext`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    fs.writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n` +
        'basicConstraints=CA:FALSE\n');
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
        '-out', cert, '-days', '2', '-extfile', ext]);
    return { cert, key };
}

// An https receiver on 127.0.0.1: records each request (method, path, headers, body) and the
// TLS handshakes clients gave up, and answers 200.
class Receiver {
    constructor(certs, tlsOptions = {}) {
        this.requests = [];
        this.tlsErrors = [];
        this.server = https.createServer({
            cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key), ...tlsOptions,
        }, (req, res) => {
            let body = '';
            req.setEncoding('utf8');
            req.on('data', (c) => { body += c; });
            req.on('end', () => {
                this.requests.push({ method: req.method, url: req.url, headers: req.headers,
                    body, servername: req.socket.servername });
                res.writeHead(200, { 'Content-Type': 'application/json' });
                res.end('{}');
            });
        });
        this.server.on('tlsClientError', (err) => { this.tlsErrors.push(err.message); });
    }

    async start() {
        await new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
    }

    url(p) {
        return `https://127.0.0.1:${this.port}${p}`;
    }

    async stop() {
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(resolve));
    }
}

describe('alerts to https webhooks', () => {
    let dir;
    let ca;
    let good;
    let wrongName;
    let untrusted;
    let oldTls;
    let fleet;

    before(async () => {
        dir = makeTempDir();
        ca = makeCa(dir, 'ca');
        const otherCa = makeCa(dir, 'other-ca');
        good = new Receiver(makeServerCert(dir, 'good', ca, 'IP:127.0.0.1,DNS:localhost'));
        wrongName = new Receiver(makeServerCert(dir, 'elsewhere', ca, 'DNS:elsewhere.example'));
        untrusted = new Receiver(makeServerCert(dir, 'untrusted', otherCa,
            'IP:127.0.0.1,DNS:localhost'));
        // Trusted, but TLS 1.1 at most: below wsfleetd's TLS 1.2.
        oldTls = new Receiver(makeServerCert(dir, 'old-tls', ca, 'IP:127.0.0.1'), {
            minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
        });
        for (const r of [good, wrongName, untrusted, oldTls]) {
            await r.start();
        }
    });

    after(async () => {
        const problem = await stopFleet(fleet);
        for (const r of [good, wrongName, untrusted, oldTls]) {
            await r?.stop();
        }
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(problem, null, problem ?? '');
    });

    test('a bad webhook_ca is refused at start (exit 2)', async () => {
        const ini = path.join(dir, 'bad.ini');
        const run = async (alerts) => {
            fs.writeFileSync(ini, `[alerts]\n${alerts}`);
            return runProgram(fleetdPath(), ['--foreground', '-c', ini,
                '--listen', '127.0.0.1:0', '--run-dir', path.join(dir, 'bad-run')]);
        };
        const missing = path.join(dir, 'missing.pem');
        let r = await run(`webhook = ${good.url('/hook')}\nwebhook_ca = ${missing}\n`);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes(`bad.ini:3: [alerts] webhook_ca: '${missing}': cannot ` +
            'read it: No such file or directory'), r.stderr);
        r = await run(`webhook_ca = ${ca.cert}\nwebhook = http://127.0.0.1:9/hook\n`);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes('bad.ini:2: [alerts] webhook_ca is set but no [alerts] ' +
            'webhook is an https:// URL'), r.stderr);
    });

    test('a trusted receiver gets the batch; a wrong name, an untrusted CA and TLS 1.1 fail',
        async () => {
            // The trusted receiver twice: by IP address and by name (/etc/hosts has localhost at
            // 127.0.0.1, and evdns reads it before asking any DNS server).
            const byName = `https://localhost:${good.port}/by-name`;
            const urls = [good.url('/hook'), wrongName.url('/hook'), untrusted.url('/hook'),
                byName, oldTls.url('/hook')];
            fleet = await startFleet({
                workers: { count: 2 },
                sections: {
                    alerts: {
                        fleet: FLEET_LABEL,
                        // iniText writes a line per key: the repeated key as lines of one value.
                        webhook: urls.join('\nwebhook = '),
                        webhook_ca: ca.cert,
                        breaker_open_for: 0,
                    },
                },
            });
            const trip = await fleet.ctl(['breaker', 'trip', '0']);
            assert.equal(trip.code, 0, trip.stderr);

            const post = await waitFor(() => good.requests.find((r) => r.url === '/hook' &&
                JSON.parse(r.body).some((a) => a.labels?.alertname === 'WsfleetBreakerOpen')),
            WAIT_MS, 'WsfleetBreakerOpen POSTed to the trusted receiver', () => fleet.tail());
            assert.equal(post.method, 'POST');
            assert.equal(post.url, '/hook');
            assert.equal(post.headers['content-type'], 'application/json');
            assert.equal(post.headers['user-agent'], 'wsfleetd');
            assert.equal(post.headers.host, `127.0.0.1:${good.port}`);
            // An IP address is checked against the certificate's IP SAN and not sent as SNI.
            assert.ok(!post.servername, `SNI ${post.servername}`);
            const batch = JSON.parse(post.body);
            assert.ok(Array.isArray(batch), post.body);
            const alert = batch.find((a) => a.labels.alertname === 'WsfleetBreakerOpen');
            assert.deepEqual(alert.labels, {
                alertname: 'WsfleetBreakerOpen', fleet: FLEET_LABEL, slot: '0',
                severity: 'warning',
            });
            assert.match(alert.annotations.summary, /breaker of slot 0 open/);
            assert.equal(typeof alert.annotations.description, 'string');
            assert.ok(Date.parse(alert.startsAt) > 0, alert.startsAt);
            assert.ok(Date.parse(alert.endsAt) > Date.parse(alert.startsAt), alert.endsAt);

            // By name: sent as SNI and checked against the certificate's DNS SAN.
            const named = await waitFor(() => good.requests.find((r) => r.url === '/by-name'),
                WAIT_MS, 'a batch POSTed to the receiver by name', () => fleet.tail());
            assert.equal(named.servername, 'localhost');
            assert.equal(named.headers.host, `localhost:${good.port}`);
            assert.ok(JSON.parse(named.body).some((a) =>
                a.labels.alertname === 'WsfleetBreakerOpen'), named.body);

            const failing = (url, reason) => new RegExp(`alerts: webhook ${url.replace(/\./g,
                '\\.')}: delivery failing: TLS certificate verification failed: ${reason}; ` +
                'retrying with backoff');
            await fleet.waitLines(failing(urls[1], 'IP address mismatch'), 1, WAIT_MS);
            await fleet.waitLines(failing(urls[2], 'unable to get local issuer certificate'), 1,
                WAIT_MS);
            // Each was tried again (the backoff starts at 1 s), and no request ever got through.
            await waitFor(() => wrongName.tlsErrors.length >= 2 && untrusted.tlsErrors.length >= 2,
                WAIT_MS, 'a second refused handshake at each untrusted receiver',
                () => `${JSON.stringify([wrongName.tlsErrors, untrusted.tlsErrors])}\n` +
                    fleet.tail());
            assert.deepEqual(wrongName.requests, []);
            assert.deepEqual(untrusted.requests, []);
            // A receiver below TLS 1.2: the handshake fails on the protocol version.
            const oldLine = await fleet.waitLines(new RegExp(`alerts: webhook ${urls[4].replace(
                /\./g, '\\.')}: delivery failing: TLS error: .*protocol`), 1, WAIT_MS);
            console.log(oldLine[0]);
            assert.deepEqual(oldTls.requests, []);
            // Logged once per failing period, not per attempt.
            assert.equal(fleet.lines(failing(urls[2], '.*')).length, 1, fleet.tail());
        });
});
