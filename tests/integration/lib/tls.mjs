// TLS helpers for the integration tests: certificates made with openssl, the worker's TLS port,
// openssl s_client runs.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IO_TIMEOUT_MS, slow } from './worker.mjs';

// A self-signed P-256 certificate and key in dir; returns their paths.
export function makeCert(dir, name = 'server', cn = 'localhost') {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
    ], { stdio: 'ignore' });
    return { cert, key };
}

// The worker's TLS port, from its "listening on HOST:PORT (TLS)" line.
export function tlsPort(worker) {
    const m = worker.stderr.match(/listening on 127\.0\.0\.1:(\d+) \(TLS\)$/m);
    assert.ok(m, `no TLS listening line:\n${worker.stderr}`);
    return Number(m[1]);
}

// Runs openssl s_client against port with args; resolves with { code, out } (stdout + stderr).
export function sClient(port, args, ms = slow(IO_TIMEOUT_MS * 2)) {
    return new Promise((resolve, reject) => {
        const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
            { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
        child.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`s_client ${args.join(' ')} did not finish:\n${out}`));
        }, ms);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, out });
        });
    });
}

// Runs s_client -sess_out file against port and ends its input once the session (with its
// ticket: TLS 1.3 sends tickets after the handshake) is in file. Resolves with its output.
export function sClientSession(port, args, file, ms = slow(IO_TIMEOUT_MS * 2)) {
    fs.rmSync(file, { force: true });
    return new Promise((resolve, reject) => {
        const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args,
            '-sess_out', file], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
        child.stderr.setEncoding('utf8').on('data', (c) => { out += c; });
        const poll = setInterval(() => {
            if (fs.existsSync(file) && fs.statSync(file).size > 0) {
                clearInterval(poll);
                child.stdin.end();
            }
        }, 20);
        const timer = setTimeout(() => {
            clearInterval(poll);
            child.kill('SIGKILL');
            reject(new Error(`no session from s_client ${args.join(' ')}:\n${out}`));
        }, ms);
        child.on('close', (code) => {
            clearInterval(poll);
            clearTimeout(timer);
            resolve({ code, out });
        });
    });
}
