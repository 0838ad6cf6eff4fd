// Types of the wsfleet browser client (wsfleet.js).

export declare const PROTOCOL: 'wsfleet.v1';

/** A channel position: resume after `offset` of history `epoch`. */
export interface Position {
    epoch: string;
    offset: number;
}

/** One publication as delivered to a subscription. */
export interface Publication<T = unknown> {
    offset: number;
    data: T;
    info?: { user?: string; [key: string]: unknown };
}

export interface Backoff {
    /** First reconnect delay cap in ms (500). */
    min?: number;
    /** Largest delay cap in ms (20000). */
    max?: number;
    /** A connection that lasted this long (ms, 30000) restarts the backoff from `min`. */
    resetAfter?: number;
}

/** A constructor compatible with the browser's WebSocket (for Node, the `ws` package's). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => any;

export interface ClientOptions {
    /** JWT sent in `connect`. */
    token?: string;
    /** Called for a token before connecting when none is set, and after a 4002 (expired) close;
     *  without it a 4002 is final. */
    getToken?: () => string | Promise<string>;
    /** Sent in `connect` as "data" (for an application backend). */
    data?: unknown;
    backoff?: Backoff;
    /** ms a command (and a connection attempt) may wait for its reply (10000). */
    timeout?: number;
    /** Random numbers in [0, 1) for the backoff jitter (Math.random). */
    random?: () => number;
    /** WebSocket constructor (globalThis.WebSocket). */
    WebSocket?: WebSocketConstructor;
}

export type ClientState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ConnectInfo {
    client: string;
    user: string;
    subs?: Record<string, { epoch: string; offset: number; recovered: boolean; pubs: Publication[] }>;
    [key: string]: unknown;
}

export interface DisconnectEvent {
    code: number;
    reason: string;
    /** True when the client will reconnect by itself (after `delay` ms). */
    reconnect: boolean;
    delay?: number;
}

export interface GapEvent {
    /** The position the subscription asked to resume from. */
    since: Position;
    /** The channel's epoch and offset now; publications in between are lost. */
    epoch: string;
    offset: number;
}

/** A server error (`code` a number, see the README's error table) or a client-side one
 *  (`code` 'disconnected' | 'timeout' | 'closed' | 'protocol'). */
export declare class WsfleetError extends Error {
    constructor(code: number | string, message?: string,
        extra?: { closeCode?: number; reason?: string; channel?: string });
    code: number | string;
    closeCode?: number;
    reason?: string;
    channel?: string;
}

type Unlisten = () => void;

export declare class Subscription<T = unknown> {
    readonly client: Client;
    readonly channel: string;
    state: 'subscribing' | 'subscribed' | 'unsubscribed';
    epoch: string | null;
    /** Offset of the last publication delivered. */
    offset: number | null;
    readonly position: Position | null;
    /** Resolves at the first subscribe reply; rejects if the subscribe fails for good. */
    ready: Promise<Subscription<T>>;
    unsubscribe(): void;
    on(event: 'subscribed', fn: (e: { epoch: string; offset: number; recovered: boolean }) => void): Unlisten;
    on(event: 'unsubscribed', fn: (e: { reason: string }) => void): Unlisten;
    on(event: 'error', fn: (err: WsfleetError | Error) => void): Unlisten;
    on(event: 'gap', fn: (e: GapEvent) => void): Unlisten;
    on(event: 'publication', fn: (pub: Publication<T>) => void): Unlisten;
    off(event: string, fn: (...args: any[]) => void): void;
}

export declare class Client {
    constructor(urls: string | string[], options?: ClientOptions);
    readonly state: ClientState;
    /** The last connect reply. */
    readonly info: ConnectInfo | null;
    readonly subs: Map<string, Subscription>;
    on(event: 'state', fn: (state: ClientState) => void): Unlisten;
    on(event: 'connect', fn: (info: ConnectInfo) => void): Unlisten;
    on(event: 'disconnect', fn: (e: DisconnectEvent) => void): Unlisten;
    on(event: 'push', fn: (message: { data: unknown }) => void): Unlisten;
    on(event: 'error', fn: (err: WsfleetError | Error) => void): Unlisten;
    off(event: string, fn: (...args: any[]) => void): void;
    connect(): Promise<ConnectInfo>;
    close(): void;
    subscribe<T = unknown>(channel: string, onPub?: (pub: Publication<T>) => void,
        options?: { since?: Position }): Subscription<T>;
    getSubscription(channel: string): Subscription | undefined;
    publish(channel: string, data: unknown): Promise<{ offset: number }>;
    history(channel: string, options?: { limit?: number }):
        Promise<{ epoch: string; offset: number; pubs: Publication[] }>;
    rpc<T = unknown>(method: string, data?: unknown): Promise<T>;
    presence(channel: string): Promise<{ clients: Record<string, { user: string }> }>;
    refresh(token: string): Promise<{ expires: number }>;
}

export declare function shouldReconnect(code: number, hasGetToken?: boolean): boolean;
export declare function backoffDelay(attempt: number, backoff?: Backoff, random?: () => number): number;
export declare function parseFrame(text: string): unknown[];
