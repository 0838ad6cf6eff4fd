// wsfleet browser client: the wsfleet.v1 protocol of a fleet's /channels route over a WebSocket,
// with reconnects (full-jitter backoff, close-code policy) and channel resume by epoch and offset.
// An ES module with no dependencies; runs in browsers and in Node with a WebSocket constructor.

export const PROTOCOL = 'wsfleet.v1';

const DEFAULT_BACKOFF = Object.freeze({ min: 500, max: 20000, resetAfter: 30000 });
const DEFAULT_TIMEOUT = 10000;
const MAX_IN_FLIGHT = 64; // the server answers 106 past this many commands in flight
const MAX_ID = 2 ** 53 - 1;
const MAX_HELD = 1000; // pushes kept for an application-given channel until it is subscribed
const ERR_NOT_AVAILABLE = 108;
const ERR_TOKEN_EXPIRED = 109;

// Close codes after which a client comes back: going away (drains, shutdowns), abnormal closure
// (a worker killed, the network), internal error, restart, try again later, lagging (resume from
// history), token expired (with a new token) and rate limited. Any other code is final.
const RECONNECT_CODES = new Set([1001, 1006, 1011, 1012, 1013, 4001, 4002, 4429]);

// True when a close with `code` should be followed by a reconnect. 4002 (token expired) only
// when the application can supply a new token (`hasGetToken`).
export function shouldReconnect(code, hasGetToken = false) {
    if (code === 4002) {
        return hasGetToken;
    }
    return RECONNECT_CODES.has(code);
}

// The delay in ms before reconnect attempt `attempt` (0 for the first after a disconnect): full
// jitter, random() * min(max, min * 2^attempt), with random() in [0, 1) as Math.random gives.
export function backoffDelay(attempt, backoff = DEFAULT_BACKOFF, random = Math.random) {
    const min = backoff.min ?? DEFAULT_BACKOFF.min;
    const max = backoff.max ?? DEFAULT_BACKOFF.max;
    const cap = Math.min(max, min * 2 ** Math.min(attempt, 52));
    return Math.floor(random() * cap);
}

// The JSON objects of one text frame: separated by "\n", a "\r" before it dropped, blank lines
// skipped. Throws on a line that is not JSON.
export function parseFrame(text) {
    const out = [];
    for (let line of text.split('\n')) {
        if (line.endsWith('\r')) {
            line = line.slice(0, -1);
        }
        if (line.trim() !== '') {
            out.push(JSON.parse(line));
        }
    }
    return out;
}

// An error from the server ({code, message} of an error reply, code a number) or from the client
// (code a string: 'disconnected', 'timeout', 'closed', 'connect').
export class WsfleetError extends Error {
    constructor(code, message, extra = {}) {
        super(message || String(code));
        this.name = 'WsfleetError';
        this.code = code;
        Object.assign(this, extra);
    }
}

// A tiny event emitter shared by Client and Subscription.
class Emitter {
    constructor() {
        this._handlers = new Map();
    }

    // Adds `fn` for `event`; returns a function that removes it.
    on(event, fn) {
        if (!this._handlers.has(event)) {
            this._handlers.set(event, new Set());
        }
        this._handlers.get(event).add(fn);
        return () => this.off(event, fn);
    }

    off(event, fn) {
        this._handlers.get(event)?.delete(fn);
    }

    _emit(event, arg) {
        const set = this._handlers.get(event);
        if (!set) {
            return;
        }
        for (const fn of [...set]) {
            try {
                fn(arg);
            } catch (err) {
                // An application handler's exception must not break the protocol state.
                if (event !== 'error') {
                    this._emit('error', err);
                }
            }
        }
    }
}

// One channel subscription. States: 'subscribing' (not yet confirmed on the current connection),
// 'subscribed', 'unsubscribed' (final). Events: 'subscribed' ({epoch, offset, recovered}),
// 'unsubscribed', 'error' (a WsfleetError), 'gap' ({epoch, offset, since}: the history could not
// fill the gap since `since`), 'publication' (each pub, like the callback).
export class Subscription extends Emitter {
    constructor(client, channel, onPub, since) {
        super();
        this.client = client;
        this.channel = channel;
        this.state = 'subscribing';
        this.epoch = since?.epoch ?? null;
        this.offset = since?.offset ?? null; // the last publication delivered (or given `since`)
        this._onPub = onPub;
        this._held = []; // pushes that came before the subscribe reply
        this._pending = false; // a subscribe (or the connect holding it) is in flight
        this.ready = new Promise((resolve, reject) => {
            this._resolveReady = resolve;
            this._rejectReady = reject;
        });
        this.ready.catch(() => {}); // awaited or not, a failed subscribe is reported by 'error'
    }

    // The position to resume from, or null before the first publication or reply.
    get position() {
        return this.epoch !== null && this.offset !== null ?
            { epoch: this.epoch, offset: this.offset } : null;
    }

    // Leaves the channel; no publication is delivered after this returns.
    unsubscribe() {
        this.client._unsubscribe(this);
    }

    // Applies a subscribe (or connect sub) reply: replayed pubs in order, then held pushes.
    _onReply(st) {
        const since = this.position;
        const pubs = Array.isArray(st.pubs) ? st.pubs : [];
        if (st.recovered === false) {
            if (since !== null) {
                this._emit('gap', { epoch: st.epoch, offset: st.offset, since });
            }
            this.epoch = st.epoch;
            this.offset = st.offset;
        } else if (since === null || since.epoch !== st.epoch) {
            // A first position: the replay (if any) starts it, else the channel's offset does.
            this.epoch = st.epoch;
            this.offset = pubs.length > 0 ? pubs[0].offset - 1 : st.offset;
        }
        this.state = 'subscribed';
        this._pending = false;
        for (const pub of pubs) {
            this._deliver(pub);
        }
        if (pubs.length === 0 && st.offset > this.offset) {
            this.offset = st.offset;
        }
        this._emit('subscribed', { epoch: this.epoch, offset: this.offset,
            recovered: st.recovered !== false });
        this._resolveReady(this);
        const held = this._held;
        this._held = [];
        for (const pub of held) {
            this._deliver(pub);
        }
    }

    _onPush(pub) {
        if (this.state === 'subscribing') {
            this._held.push(pub);
        } else if (this.state === 'subscribed') {
            this._deliver(pub);
        }
    }

    // Delivers `pub` unless its offset was delivered already: never twice, always in order.
    _deliver(pub) {
        if (this.state !== 'subscribed' || typeof pub?.offset !== 'number') {
            return;
        }
        if (this.offset !== null && pub.offset <= this.offset) {
            return;
        }
        this.offset = pub.offset;
        const out = { offset: pub.offset, data: pub.data, info: pub.info };
        if (this._onPub) {
            try {
                this._onPub(out);
            } catch (err) {
                this._emit('error', err);
            }
        }
        this._emit('publication', out);
    }

    _fail(err) {
        this.state = 'unsubscribed';
        this._emit('error', err);
        this._rejectReady(err);
        this._emit('unsubscribed', { reason: err.message });
    }
}

// A client of a fleet's /channels route. See README.md in this directory.
export class Client extends Emitter {
    constructor(urls, options = {}) {
        super();
        this.urls = Array.isArray(urls) ? [...urls] : [urls];
        if (this.urls.length === 0) {
            throw new TypeError('wsfleet: no URL');
        }
        this.token = options.token;
        this.data = options.data;
        this.getToken = options.getToken;
        this.backoff = { ...DEFAULT_BACKOFF, ...(options.backoff || {}) };
        this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
        this.random = options.random ?? Math.random;
        this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
        if (typeof this.WebSocket !== 'function') {
            throw new TypeError('wsfleet: no WebSocket constructor (pass options.WebSocket)');
        }
        this.state = 'disconnected';
        this.info = null; // the last connect reply
        this.subs = new Map(); // channel -> Subscription
        // Channels the application subscribed this connection to (its connect reply's subs) that
        // no Subscription asked for yet: channel -> {state, held}; subscribe() takes them over.
        this._given = new Map();
        this._ws = null;
        this._urlIndex = 0;
        this._attempt = 0;
        this._connectedAt = 0;
        this._nextId = 1;
        this._inFlight = new Map(); // id -> {resolve, reject, timer, kind}
        this._queue = []; // commands waiting for a connection or for room in flight
        this._timer = null;
        this._connectTimer = null;
        this._connectWaiters = [];
        this._tokenNeeded = false;
    }

    _setState(s) {
        if (this.state !== s) {
            this.state = s;
            this._emit('state', s);
        }
    }

    // Connects (if not already) and resolves with the first connect reply ({client, user, subs}).
    // Transient failures are retried with backoff; rejects on a final close or close().
    connect() {
        if (this.state === 'closed') {
            return Promise.reject(new WsfleetError('closed', 'client closed'));
        }
        if (this.state === 'connected') {
            return Promise.resolve(this.info);
        }
        const p = new Promise((resolve, reject) => {
            this._connectWaiters.push({ resolve, reject });
        });
        if (this.state === 'disconnected') {
            this._setState('connecting');
            this._open();
        }
        return p;
    }

    // Closes for good: pending commands reject, no reconnect.
    close() {
        if (this.state === 'closed') {
            return;
        }
        clearTimeout(this._timer);
        this._timer = null;
        const ws = this._ws;
        this._detach();
        if (ws) {
            try {
                ws.close(1000, 'client closed');
            } catch {
                // already closing
            }
        }
        const err = new WsfleetError('closed', 'client closed');
        this._failAll(err, true);
        const subs = [...this.subs.values()];
        this.subs.clear();
        for (const sub of subs) {
            clearTimeout(sub._retry);
            sub.state = 'unsubscribed';
            sub._emit('unsubscribed', { reason: 'closed' });
        }
        this._setState('closed');
    }

    // Subscribes to `channel`; `onPub({offset, data, info})` gets each publication once, in
    // order. `since` ({epoch, offset}) starts after that position. The subscription survives
    // reconnects: it resumes from the last publication delivered.
    subscribe(channel, onPub, { since } = {}) {
        if (this.state === 'closed') {
            throw new WsfleetError('closed', 'client closed');
        }
        if (this.subs.has(channel)) {
            throw new WsfleetError(105, `already subscribed to ${channel}`);
        }
        const sub = new Subscription(this, channel, onPub, since);
        this.subs.set(channel, sub);
        const given = this.state === 'connected' ? this._given.get(channel) : undefined;
        if (given && since) {
            // From a position of its own: leave the application's subscription and ask again
            // (the server answers commands in order).
            this._given.delete(channel);
            this._command('unsubscribe', { channel }).catch(() => {});
            this._sendSubscribe(sub);
        } else if (given) {
            // Already subscribed on this connection by the application: no command, the connect
            // reply's state and the pushes since then start it.
            this._given.delete(channel);
            sub._onReply(given.state);
            for (const pub of given.held) {
                sub._deliver(pub);
            }
        } else if (this.state === 'connected') {
            this._sendSubscribe(sub);
        }
        return sub;
    }

    getSubscription(channel) {
        return this.subs.get(channel);
    }

    publish(channel, data) {
        return this._command('publish', { channel, data });
    }

    history(channel, { limit } = {}) {
        return this._command('history', limit === undefined ? { channel } : { channel, limit });
    }

    async rpc(method, data) {
        const r = await this._command('rpc', data === undefined ? { method } : { method, data });
        return r.data;
    }

    presence(channel) {
        return this._command('presence', { channel });
    }

    // Sends a new token; once accepted it is also the one later connects use.
    async refresh(token) {
        const r = await this._command('refresh', { token });
        this.token = token;
        return r;
    }

    // ---- commands ----

    // Queues a command; resolves with its reply body, rejects with a WsfleetError. A command sent
    // on a connection that closes before its reply rejects with code 'disconnected' (it may or may
    // not have run); one not yet sent waits for the next connection (up to `timeout`). While
    // 'disconnected' (never connected, or after a final close) commands reject at once.
    _command(kind, body) {
        if (this.state === 'closed') {
            return Promise.reject(new WsfleetError('closed', 'client closed'));
        }
        if (this.state === 'disconnected') {
            return Promise.reject(new WsfleetError('disconnected', 'not connected (call connect)'));
        }
        return new Promise((resolve, reject) => {
            const cmd = { kind, body, resolve, reject, timer: null };
            cmd.timer = setTimeout(() => {
                this._forget(cmd);
                reject(new WsfleetError('timeout', `${kind}: no reply within ${this.timeout} ms`));
            }, this.timeout);
            this._queue.push(cmd);
            this._flush();
        });
    }

    _forget(cmd) {
        const i = this._queue.indexOf(cmd);
        if (i >= 0) {
            this._queue.splice(i, 1);
        }
        if (cmd.id !== undefined && this._inFlight.get(cmd.id) === cmd) {
            // Its reply may still come: keep the id reserved, but answer nobody.
            cmd.resolve = () => {};
            cmd.reject = () => {};
        }
    }

    _id() {
        const id = this._nextId;
        this._nextId = id >= MAX_ID ? 1 : id + 1;
        return id;
    }

    _send(obj) {
        this._ws.send(JSON.stringify(obj));
    }

    _flush() {
        while (this.state === 'connected' && this._queue.length > 0 &&
            this._inFlight.size < MAX_IN_FLIGHT) {
            const cmd = this._queue.shift();
            cmd.id = this._id();
            this._inFlight.set(cmd.id, cmd);
            this._send({ id: cmd.id, [cmd.kind]: cmd.body });
        }
    }

    // Queues a subscribe for `sub` (the server takes at most 64 commands in flight, subscribes
    // included); its position is fixed while it waits, since nothing is delivered meanwhile.
    _sendSubscribe(sub) {
        sub._pending = true;
        sub.state = 'subscribing';
        this._queue.push({ kind: 'subscribe', sub, timer: null, resolve: () => {},
            reject: () => {}, get body() {
                return sub.position ? { channel: sub.channel, since: sub.position } :
                    { channel: sub.channel };
            } });
        this._flush();
    }

    _unsubscribe(sub) {
        if (sub.state === 'unsubscribed' || this.subs.get(sub.channel) !== sub) {
            return;
        }
        const queued = this._queue.findIndex((cmd) => cmd.sub === sub);
        if (queued >= 0) {
            this._queue.splice(queued, 1); // never sent: nothing to undo
        }
        const wasSubscribed = queued < 0 && (sub.state === 'subscribed' || sub._pending);
        sub.state = 'unsubscribed';
        this.subs.delete(sub.channel);
        if (wasSubscribed && this.state === 'connected') {
            // Fire and forget: a 114 (not subscribed) answer is as good as a success.
            this._command('unsubscribe', { channel: sub.channel }).catch(() => {});
        }
        clearTimeout(sub._retry);
        sub._rejectReady(new WsfleetError('closed', 'unsubscribed'));
        sub._emit('unsubscribed', { reason: 'unsubscribe' });
    }

    // ---- the connection ----

    async _open() {
        this._timer = null;
        if (this.state !== 'connecting') {
            return;
        }
        if (this.getToken && (this._tokenNeeded || this.token === undefined)) {
            try {
                this.token = await this.getToken();
                this._tokenNeeded = false;
            } catch (err) {
                this._emit('error', err);
                this._finalDisconnect({ code: 4002, reason: 'getToken failed' });
                return;
            }
            if (this.state !== 'connecting') {
                return;
            }
        }
        const url = this.urls[this._urlIndex % this.urls.length];
        let ws;
        try {
            ws = new this.WebSocket(url, PROTOCOL);
        } catch (err) {
            this._emit('error', err);
            this._onClose(null, { code: 1006, reason: String(err.message || err) });
            return;
        }
        this._ws = ws;
        clearTimeout(this._connectTimer);
        const connectTimer = setTimeout(() => {
            this._onClose(ws, { code: 1006, reason: 'connect timeout' });
            try {
                ws.close();
            } catch {
                // never opened
            }
        }, this.timeout);
        this._connectTimer = connectTimer;
        ws.onopen = () => {
            if (this._ws !== ws) {
                return;
            }
            const body = {};
            if (this.token !== undefined) {
                body.token = this.token;
            }
            if (this.data !== undefined) {
                body.data = this.data;
            }
            const subs = {};
            let n = 0;
            for (const sub of this.subs.values()) {
                subs[sub.channel] = sub.position ?? {};
                sub.state = 'subscribing';
                sub._pending = true;
                n++;
            }
            if (n > 0) {
                body.subs = subs;
            }
            const id = this._id();
            this._inFlight.set(id, { kind: 'connect', timer: connectTimer, subs: new Set(
                this.subs.values()), resolve: () => {}, reject: () => {} });
            this._send({ id, connect: body });
        };
        ws.onmessage = (ev) => {
            if (this._ws === ws) {
                this._onFrame(ev.data);
            }
        };
        ws.onerror = () => {
            // The close event follows with the code; nothing to do here.
        };
        ws.onclose = (ev) => {
            clearTimeout(connectTimer);
            this._onClose(ws, { code: ev.code, reason: ev.reason });
        };
    }

    _onFrame(data) {
        if (typeof data !== 'string') {
            this._emit('error', new WsfleetError('protocol', 'binary frame from the server'));
            return;
        }
        let msgs;
        try {
            msgs = parseFrame(data);
        } catch (err) {
            this._emit('error', new WsfleetError('protocol', `bad frame: ${err.message}`));
            return;
        }
        for (const msg of msgs) {
            if (this._ws === null) {
                return; // a handler closed the client
            }
            this._onMessage(msg);
        }
    }

    _onMessage(msg) {
        if (msg.push) {
            const push = msg.push;
            if (push.pub && typeof push.channel === 'string') {
                const sub = this.subs.get(push.channel);
                if (sub) {
                    sub._onPush(push.pub);
                } else if (this._given.has(push.channel)) {
                    const held = this._given.get(push.channel).held;
                    if (held.length < MAX_HELD) {
                        held.push(push.pub);
                    }
                }
            } else if (push.message) {
                this._emit('push', push.message);
            }
            return;
        }
        const cmd = this._inFlight.get(msg.id);
        if (!cmd) {
            if (msg.error) {
                this._emit('error', new WsfleetError(msg.error.code, msg.error.message));
            }
            return;
        }
        this._inFlight.delete(msg.id);
        clearTimeout(cmd.timer);
        if (cmd.kind === 'connect') {
            this._onConnectReply(msg, cmd);
        } else if (cmd.kind === 'subscribe') {
            this._onSubscribeReply(msg, cmd.sub);
        } else if (msg.error) {
            cmd.reject(new WsfleetError(msg.error.code, msg.error.message));
        } else {
            cmd.resolve(msg[cmd.kind] ?? {});
        }
        this._flush();
    }

    _onConnectReply(msg, cmd) {
        if (msg.error) {
            // The server closes the connection after a failed connect; its close code decides.
            if (msg.error.code === ERR_TOKEN_EXPIRED) {
                this._tokenNeeded = true;
            }
            this._lastConnectError = new WsfleetError(msg.error.code, msg.error.message);
            this._emit('error', this._lastConnectError);
            return;
        }
        const info = msg.connect ?? {};
        this.info = info;
        this._connectedAt = Date.now();
        this._lastConnectError = null;
        this._setState('connected');
        const states = info.subs ?? {};
        this._given.clear();
        for (const [channel, st] of Object.entries(states)) {
            if (!this.subs.has(channel) && st && typeof st === 'object') {
                this._given.set(channel, { state: st, held: [] });
            }
        }
        for (const sub of cmd.subs) {
            if (this.subs.get(sub.channel) !== sub) {
                continue; // unsubscribed while the connect was in flight
            }
            if (states[sub.channel]) {
                sub._onReply(states[sub.channel]);
            } else {
                this._sendSubscribe(sub);
            }
        }
        // Subscriptions made while the connect was in flight.
        for (const sub of this.subs.values()) {
            if (!cmd.subs.has(sub)) {
                this._sendSubscribe(sub);
            }
        }
        this._emit('connect', info);
        const waiters = this._connectWaiters;
        this._connectWaiters = [];
        for (const w of waiters) {
            w.resolve(info);
        }
    }

    _onSubscribeReply(msg, sub) {
        if (this.subs.get(sub.channel) !== sub) {
            if (!msg.error && this.state === 'connected') {
                this._command('unsubscribe', { channel: sub.channel }).catch(() => {});
            }
            return;
        }
        if (!msg.error) {
            sub._onReply(msg.subscribe ?? {});
            return;
        }
        const err = new WsfleetError(msg.error.code, msg.error.message, { channel: sub.channel });
        if (err.code === ERR_NOT_AVAILABLE) {
            // The channels' broker is down for now: ask again after a backoff delay.
            sub._emit('error', err);
            const delay = backoffDelay(1, this.backoff, this.random) + this.backoff.min;
            clearTimeout(sub._retry);
            sub._retry = setTimeout(() => {
                if (this.subs.get(sub.channel) === sub && this.state === 'connected' &&
                    !sub._pending) {
                    this._sendSubscribe(sub);
                }
            }, delay);
            sub._pending = false;
            return;
        }
        this.subs.delete(sub.channel);
        sub._fail(err);
    }

    // Forgets the socket without acting on its events any more.
    _detach() {
        const ws = this._ws;
        this._ws = null;
        this._given.clear();
        clearTimeout(this._connectTimer);
        this._connectTimer = null;
        if (ws) {
            ws.onopen = ws.onmessage = ws.onclose = null;
            ws.onerror = () => {}; // a socket closed while connecting may still report an error

        }
    }

    // Everything in flight rejects (its outcome is unknown); `all` also rejects what was queued.
    _failAll(err, all) {
        for (const cmd of this._inFlight.values()) {
            clearTimeout(cmd.timer);
            cmd.reject(err);
        }
        this._inFlight.clear();
        this._queue = this._queue.filter((cmd) => cmd.kind !== 'subscribe');
        for (const sub of this.subs.values()) {
            sub._pending = false;
            sub._held = []; // the next connection's replay covers them
            if (sub.state === 'subscribed') {
                sub.state = 'subscribing';
            }
        }
        if (all) {
            for (const cmd of this._queue) {
                clearTimeout(cmd.timer);
                cmd.reject(err);
            }
            this._queue = [];
            const waiters = this._connectWaiters;
            this._connectWaiters = [];
            for (const w of waiters) {
                w.reject(err);
            }
            for (const sub of this.subs.values()) {
                sub._rejectReady(err);
            }
        }
    }

    _onClose(ws, { code, reason }) {
        if (ws !== this._ws || this.state === 'closed') {
            return;
        }
        this._detach();
        const wasConnected = this.state === 'connected';
        const err = new WsfleetError('disconnected', `disconnected: ${code} ${reason || ''}`.trim(),
            { closeCode: code, reason });
        this._failAll(err, false);
        if (code === 4002) {
            this._tokenNeeded = true;
        }
        if (!shouldReconnect(code, typeof this.getToken === 'function')) {
            this._finalDisconnect({ code, reason });
            return;
        }
        if (wasConnected && Date.now() - this._connectedAt >= this.backoff.resetAfter) {
            this._attempt = 0;
        }
        const delay = backoffDelay(this._attempt, this.backoff, this.random);
        this._attempt++;
        this._urlIndex = (this._urlIndex + 1) % this.urls.length;
        this._setState('connecting');
        this._emit('disconnect', { code, reason, reconnect: true, delay });
        if (this.state === 'connecting' && this._timer === null) {
            this._timer = setTimeout(() => this._open(), delay);
        }
    }

    // A close after which the client does not come back by itself: state 'disconnected'; the
    // application may call connect() again (subscriptions resume then).
    _finalDisconnect({ code, reason }) {
        const err = this._lastConnectError ?? new WsfleetError('disconnected',
            `disconnected: ${code} ${reason || ''}`.trim(), { closeCode: code, reason });
        err.closeCode = code;
        this._lastConnectError = null;
        this._failAll(err, true);
        this._setState('disconnected');
        this._emit('disconnect', { code, reason, reconnect: false });
    }
}
