// Compiled by the browser_types test (tsc --noEmit --strict): the README's example against
// web/client/wsfleet.d.ts, so the declarations keep matching the documented API.
import {
    backoffDelay, Client, parseFrame, shouldReconnect, Subscription, WsfleetError,
} from '../../web/client/wsfleet.js';
import type { ClientState, DisconnectEvent, Publication } from '../../web/client/wsfleet.js';

interface Chat {
    text: string;
}

async function example(token: string): Promise<void> {
    const client = new Client(['ws://127.0.0.1:8080/channels', 'ws://127.0.0.1:8081/channels'], {
        token,
        getToken: async () => token,
        data: { app: 'demo' },
        backoff: { min: 500, max: 20000, resetAfter: 30000 },
        timeout: 5000,
    });
    client.on('state', (s: ClientState) => console.log(s));
    client.on('disconnect', ({ code, reason, reconnect, delay }: DisconnectEvent) =>
        console.log(code, reason, reconnect, delay));
    client.on('push', (msg) => console.log(msg.data));
    client.on('error', (err) => console.log(err.message));
    const info = await client.connect();
    const who: string = `${info.client} ${info.user}`;
    const sub: Subscription<Chat> = client.subscribe<Chat>('chat:lobby',
        (pub: Publication<Chat>) => console.log(pub.offset, pub.data.text, pub.info?.user),
        { since: { epoch: 'E', offset: 12 } });
    sub.on('gap', ({ since, epoch, offset }) => console.log(since.offset, epoch, offset));
    sub.on('subscribed', ({ recovered }) => console.log(recovered));
    await sub.ready;
    const { offset } = await client.publish('chat:lobby', { text: 'hello' });
    const h = await client.history('chat:lobby', { limit: 50 });
    const n: number = h.pubs.length + offset;
    const answer = await client.rpc<{ ok: boolean }>('method', { a: 1 });
    const members = await client.presence('chat:lobby');
    const expires: number = (await client.refresh(token)).expires;
    sub.unsubscribe();
    client.close();
    const e = new WsfleetError(104, 'method not found');
    const code: number | string = e.code;
    console.log(who, n, answer.ok, Object.keys(members.clients), expires, code,
        backoffDelay(3, { min: 500, max: 20000 }, Math.random), shouldReconnect(1006),
        parseFrame('{}\n{}').length);
}

example('token').catch(() => {});
