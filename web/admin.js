// The admin page: the fleet's snapshot from /ws once a second and its events as they happen.
// Every string from the server goes through textContent, never HTML parsing.
const $ = (sel) => document.querySelector(sel);

function cell(row, text) {
    const td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    row.appendChild(td);
}

function showStatus(st) {
    $('#state').textContent = st.state;
    const dl = $('#fleet');
    dl.replaceChildren();
    for (const key of ['workers_running', 'workers_desired', 'connections', 'msgs_in_per_s',
        'errors_per_s', 'uptime_s', 'autoscale', 'last_scaling']) {
        const dt = document.createElement('dt');
        dt.textContent = key;
        const dd = document.createElement('dd');
        dd.textContent = String(st[key] ?? '');
        dl.append(dt, dd);
    }
}

function showWorkers(workers) {
    const body = $('#workers tbody');
    body.replaceChildren();
    for (const w of workers) {
        const tr = document.createElement('tr');
        for (const v of [w.slot, w.pid, w.state, w.connections, w.msgs_in_per_s.toFixed(1),
            w.msgs_out_per_s.toFixed(1), w.errors_per_s.toFixed(1), w.restarts, w.breaker,
            w.buckets, Math.round(w.rss_bytes / 1048576) + ' MiB', w.uptime_s + ' s']) {
            cell(tr, v);
        }
        body.appendChild(tr);
    }
}

function addEvent(ev) {
    const li = document.createElement('li');
    const when = new Date(ev.time_ms).toLocaleTimeString();
    li.textContent = `${when} ${ev.kind}${ev.slot >= 0 ? ' slot ' + ev.slot : ''}: ${ev.text}`;
    const list = $('#events');
    list.prepend(li);
    while (list.children.length > 200) {
        list.lastChild.remove();
    }
}

function connect(delay) {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === 'snapshot') {
            showStatus(msg.status);
            showWorkers(msg.workers);
        } else if (msg.type === 'event') {
            addEvent(msg.event);
        }
    };
    ws.onopen = () => { delay = 500; };
    ws.onclose = () => {
        $('#state').textContent = 'disconnected';
        setTimeout(() => connect(Math.min(delay * 2, 20000)), Math.random() * delay);
    };
}

fetch('/api/events').then((r) => r.json()).then((r) => r.events.forEach(addEvent))
    .finally(() => connect(500));
