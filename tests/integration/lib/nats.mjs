// Starts the real nats-server (JetStream, a temporary file store, token authorization, loopback,
// a port of its own choosing) for integration tests; stops, kills and restarts it by PID on the
// same port and store. Also a small JetStream client (the `nats` package) for what a test does
// behind the workers' backs, such as deleting the stream.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'nats';

const NATS_SERVER = process.env.NATS_SERVER || '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 15000;

const live = new Set();
process.on('exit', () => {
    for (const child of live) {
        child.kill('SIGKILL');
    }
});

export class NatsServer {
    constructor() {
        this.dir = mkdtempSync(path.join(tmpdir(), 'wsf-nats-'));
        this.token = randomBytes(12).toString('hex');
        this.port = -1;
        this.child = null;
        this.log = '';
    }

    get url() {
        return `nats://${this.token}@127.0.0.1:${this.port}`;
    }

    // Writes the URL (with its token) to a file of mode 0600 in the server's directory, as wsfleetd
    // hands it to workers for --nats-url-file; returns the file's path.
    writeUrlFile() {
        const file = path.join(this.dir, 'nats.url');
        writeFileSync(file, `${this.url}\n`, { mode: 0o600 });
        return file;
    }

    // Starts the server (again, on the same port and store once it has one).
    async start() {
        const conf = path.join(this.dir, 'nats.conf');
        writeFileSync(conf, [
            'host: "127.0.0.1"',
            `port: ${this.port}`,
            `jetstream { store_dir: "${path.join(this.dir, 'store')}" }`,
            `authorization { token: "${this.token}" }`,
            `ports_file_dir: "${this.dir}"`,
            '',
        ].join('\n'), { mode: 0o600 });
        for (const f of readdirSync(this.dir)) {
            if (f.endsWith('.ports')) {
                rmSync(path.join(this.dir, f));
            }
        }
        const child = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
        this.child = child;
        live.add(child);
        child.stderr.setEncoding('utf8').on('data', (c) => { this.log += c; });
        child.stdout.setEncoding('utf8').on('data', (c) => { this.log += c; });
        this.exited = new Promise((resolve) => child.on('close', (code, signal) => {
            live.delete(child);
            resolve({ code, signal });
        }));
        const deadline = Date.now() + START_TIMEOUT_MS;
        const portsFile = path.join(this.dir, `nats-server_${child.pid}.ports`);
        for (;;) {
            try {
                const ports = JSON.parse(readFileSync(portsFile, 'utf8'));
                this.port = Number(new URL(ports.nats[0]).port);
                return this;
            } catch {
                if (Date.now() > deadline) {
                    throw new Error(`nats-server wrote no ports file:\n${this.log}`);
                }
                await sleep(20);
            }
        }
    }

    // SIGKILLs the server and waits until it is gone.
    async kill() {
        if (this.child && live.has(this.child)) {
            this.child.kill('SIGKILL');
            await this.exited;
        }
    }

    async stop() {
        if (this.child && live.has(this.child)) {
            this.child.kill('SIGTERM');
            await this.exited;
        }
        rmSync(this.dir, { recursive: true, force: true });
    }

    // A client connection from the test itself (close it when done).
    async client() {
        return connect({ servers: `127.0.0.1:${this.port}`, token: this.token });
    }

    // Deletes the channels' stream (a lost history: a new epoch once the workers recreate it).
    async deleteStream(name = 'WSF') {
        const nc = await this.client();
        try {
            const jsm = await nc.jetstreamManager();
            await jsm.streams.delete(name);
        } finally {
            await nc.close();
        }
    }

    // Sends a request and gathers every reply that arrives within ms.
    async gather(subject, ms) {
        const nc = await this.client();
        try {
            const inbox = `_INBOX.test.${randomBytes(6).toString('hex')}`;
            const sub = nc.subscribe(inbox);
            const replies = [];
            const done = (async () => {
                for await (const m of sub) {
                    replies.push(JSON.parse(new TextDecoder().decode(m.data)));
                }
            })();
            await nc.flush();
            nc.publish(subject, new Uint8Array(0), { reply: inbox });
            await sleep(ms);
            sub.unsubscribe();
            await done;
            return replies;
        } finally {
            await nc.close();
        }
    }
}

export async function startNats() {
    return new NatsServer().start();
}
