// The chat page: wsfleet's browser client (web/client/wsfleet.js, served as /wsfleet.js by
// backend.mjs). Every text from the network goes into the page as text, never as HTML.
import { Client } from './wsfleet.js';

const $ = (id) => document.getElementById(id);
let client = null;
let room = null;
let sub = null;
let me = '';

// A line in the message list; `offset` (a room publication's) keeps the list in channel order
// and each publication once, whether it came from the history or the subscription.
function line(who, text, cls = '', offset = null) {
    const list = $('messages');
    if (offset !== null && list.querySelector(`li[data-offset="${offset}"]`)) {
        return;
    }
    const li = document.createElement('li');
    if (cls) {
        li.className = cls;
    }
    const w = document.createElement('span');
    w.className = 'who';
    w.textContent = who;
    li.append(w, document.createTextNode(text));
    let before = null;
    if (offset !== null) {
        li.dataset.offset = String(offset);
        before = [...list.children].find((x) => x.dataset.offset && Number(x.dataset.offset) > offset);
    }
    list.insertBefore(li, before ?? null);
    list.scrollTop = list.scrollHeight;
}

function showPub(name, pub) {
    if (name === room && typeof pub?.offset === 'number') {
        // info.user is who published it, as the fleet knows them (not what they wrote).
        line(String(pub.info?.user ?? '?'), String(pub.data?.text ?? ''), '', pub.offset);
    }
}

// Shows room `name`: subscribes first, so that nothing published meanwhile is missed, then fills
// in the last 50 publications from the history.
async function enter(name) {
    sub?.unsubscribe();
    room = name;
    $('room').textContent = name.replace(/^chat:/, '#');
    $('messages').replaceChildren();
    for (const li of $('rooms').children) {
        li.classList.toggle('current', li.dataset.room === name);
    }
    sub = client.subscribe(name, (pub) => showPub(name, pub));
    const h = await client.history(name, { limit: 50 });
    for (const pub of h.pubs ?? []) {
        showPub(name, pub);
    }
}

async function members() {
    const r = await client.rpc('members', {});
    const list = r?.members ?? [];
    $('members').replaceChildren(...list.map((m) => {
        const li = document.createElement('li');
        li.textContent = m === me ? `${m} (you)` : m;
        li.addEventListener('click', () => {
            $('to').value = m;
        });
        return li;
    }));
}

$('join').addEventListener('submit', async (e) => {
    e.preventDefault();
    const cfg = await (await fetch('config.json')).json();
    me = $('name').value;
    client = new Client(cfg.ws, { data: { name: me } });
    client.on('push', (msg) => {
        const w = (msg?.data ?? msg)?.whisper;
        if (w) {
            line(`${w.from} → you`, w.text, 'whisper');
        }
    });
    try {
        const info = await client.connect();
        $('status').textContent = `connected as ${me}`;
        const rooms = info?.data?.rooms ?? ['chat:lobby'];
        $('rooms').replaceChildren(...rooms.map((r) => {
            const li = document.createElement('li');
            li.dataset.room = r;
            li.textContent = r.replace(/^chat:/, '#');
            li.addEventListener('click', () => enter(r));
            return li;
        }));
        $('join').hidden = true;
        $('chat').hidden = false;
        await enter(rooms[0]);
        await members();
    } catch (err) {
        $('status').textContent = `refused: ${err.message ?? err}`;
    }
});

$('say').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('text').value;
    if (text) {
        $('text').value = '';
        await client.publish(room, { text });
    }
});

$('whisper').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
        await client.rpc('whisper', { to: $('to').value, text: $('wtext').value });
        line(`you → ${$('to').value}`, $('wtext').value, 'whisper');
        $('wtext').value = '';
    } catch (err) {
        line('!', `whisper failed: ${err.message ?? err}`);
    }
});

$('refresh').addEventListener('click', members);
