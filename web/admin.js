// The wsfleet dashboard: the fleet's state from /ws (a snapshot every second, events as they
// happen), charts of the last 5 minutes (uPlot), the timeline, and the operator's actions.
// Every string that comes from the server is shown through textContent, never parsed as HTML.
const $ = (sel) => document.querySelector(sel);
const HISTORY_SECONDS = 300;
const TOKEN_KEY = 'wsfleet.admin.token';

// ---- charts --------------------------------------------------------------------------------

const series = { t: [], conns: [], msgsIn: [], msgsOut: [], errors: [], p50: [], p99: [] };
const charts = {};

function makeChart(id, lines) {
    const el = $(id);
    const opts = {
        width: Math.max(el.clientWidth, 380),
        height: 170,
        legend: { live: false },
        scales: { x: { time: true } },
        series: [{}, ...lines.map(([label, stroke]) => ({ label, stroke, width: 1.5 }))],
        axes: [{}, { size: 60 }],
    };
    return new uPlot(opts, [[], ...lines.map(() => [])], el);
}

function setupCharts() {
    if (typeof uPlot !== 'function') {
        return;
    }
    charts.conns = makeChart('#chart-conns', [['connections', '#2563eb']]);
    charts.msgs = makeChart('#chart-msgs', [['in', '#2563eb'], ['out', '#16a34a']]);
    charts.errors = makeChart('#chart-errors', [['errors', '#dc2626']]);
    charts.latency = makeChart('#chart-latency', [['p50', '#2563eb'], ['p99', '#d97706']]);
}

function pushPoint(p) {
    const t = p.t_ms / 1000;
    if (series.t.length > 0 && t <= series.t[series.t.length - 1]) {
        return;
    }
    series.t.push(t);
    series.conns.push(p.connections);
    series.msgsIn.push(p.msgs_in);
    series.msgsOut.push(p.msgs_out);
    series.errors.push(p.errors);
    series.p50.push(p.p50_us || null);
    series.p99.push(p.p99_us || null);
    for (const k of Object.keys(series)) {
        if (series[k].length > HISTORY_SECONDS) {
            series[k].shift();
        }
    }
}

function redraw() {
    if (!charts.conns) {
        return;
    }
    charts.conns.setData([series.t, series.conns]);
    charts.msgs.setData([series.t, series.msgsIn, series.msgsOut]);
    charts.errors.setData([series.t, series.errors]);
    charts.latency.setData([series.t, series.p50, series.p99]);
}

// ---- state ---------------------------------------------------------------------------------

let autoscaleOn = false;

function fmt(n, digits = 1) {
    return typeof n === 'number' ? n.toFixed(digits) : '';
}

function duration(s) {
    if (s >= 86400) return `${Math.floor(s / 86400)} d`;
    if (s >= 3600) return `${Math.floor(s / 3600)} h`;
    if (s >= 60) return `${Math.floor(s / 60)} min`;
    return `${s} s`;
}

function showStatus(st) {
    const badge = $('#state');
    badge.textContent = st.ready ? st.state : `${st.state} (not ready)`;
    badge.className = `badge ${st.state}`;
    const rows = [
        ['workers', `${st.workers_running} running of ${st.workers_desired} ` +
            `(min ${st.workers_min}, max ${st.workers_max})`],
        ['connections', String(st.connections)],
        ['messages in', `${fmt(st.msgs_in_per_s)} /s`],
        ['errors', `${fmt(st.errors_per_s, 2)} /s`],
        ['uptime', duration(st.uptime_s)],
        ['listen', st.listen],
        ['steering', st.steering],
        ['broker', st.nats ? `${st.nats.mode} ${st.nats.state}${st.nats.connected ? '' : ' (not connected)'}` : 'none'],
    ];
    const dl = $('#fleet');
    dl.replaceChildren();
    for (const [k, v] of rows) {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = v;
        dl.append(dt, dd);
    }
    autoscaleOn = st.autoscale;
    $('#autoscale').textContent = st.autoscale ? 'autoscale: on' : 'autoscale: off';
    $('#scaling').textContent = st.last_scaling
        ? `last scaling ${duration(st.last_scaling_age_s)} ago: ${st.last_scaling}` : '';
    const input = $('#scale-count');
    if (document.activeElement !== input) {
        input.value = String(st.workers_desired);
    }
}

// A table row of one cell per [text, class] pair (class optional), each shown as text.
function cellsRow(cells) {
    const tr = document.createElement('tr');
    for (const [text, cls] of cells) {
        const td = document.createElement('td');
        td.textContent = String(text);
        if (cls) {
            td.className = cls;
        }
        tr.appendChild(td);
    }
    return tr;
}

function actionButton(label, confirmText, path, body) {
    const b = document.createElement('button');
    b.textContent = label;
    b.addEventListener('click', () => act(confirmText, path, body));
    return b;
}

function showWorkers(workers) {
    const body = $('#workers tbody');
    body.replaceChildren();
    for (const w of workers) {
        const tr = cellsRow([
            [w.slot], [w.pid || ''], [w.state, `state-${w.state}`], [w.connections],
            [fmt(w.msgs_in_per_s)], [fmt(w.msgs_out_per_s)], [fmt(w.errors_per_s, 2)],
            [w.p50_us || ''], [w.p99_us || ''], [w.restarts], [w.breaker, `breaker-${w.breaker}`],
            [w.accepting ? w.buckets : `${w.buckets} (not accepting)`],
            [w.rss_bytes ? `${Math.round(w.rss_bytes / 1048576)} MiB` : ''],
            [w.pid ? duration(w.uptime_s) : ''],
        ]);
        tr.dataset.slot = String(w.slot);
        tr.dataset.pid = String(w.pid);
        const td = document.createElement('td');
        td.append(
            actionButton('restart', `Restart the worker of slot ${w.slot}?`, '/api/restart',
                { slot: w.slot }),
            actionButton('drain', `Drain slot ${w.slot}?`, '/api/drain', { slot: w.slot }),
            w.breaker === 'closed'
                ? actionButton('trip', `Trip the breaker of slot ${w.slot}?`, '/api/breaker',
                    { slot: w.slot, action: 'trip' })
                : actionButton('reset', `Reset the breaker of slot ${w.slot}?`, '/api/breaker',
                    { slot: w.slot, action: 'reset' }),
        );
        tr.appendChild(td);
        body.appendChild(tr);
    }
}

// The firing alerts (GET /api/alerts "firing", or the snapshot's "alerts").
function showAlerts(firing) {
    const body = $('#alerts-firing tbody');
    body.replaceChildren();
    $('#alerts-count').textContent = firing.length ? `${firing.length} firing` : 'none firing';
    $('#alerts').classList.toggle('firing', firing.length > 0);
    for (const a of firing) {
        const since = a.startsAt ? new Date(a.startsAt).toLocaleTimeString() : '';
        const tr = cellsRow([[a.alertname], [a.slot ?? ''], [a.severity], [since], [a.summary]]);
        tr.className = `severity-${a.severity}`;
        tr.dataset.alertname = a.alertname;
        body.appendChild(tr);
    }
}

// A drill's events (wschaos posts them): "NAME: start: DESCRIPTION", "NAME: objective VERDICT
// TEXT (VALUE)" with VERDICT pending, PASS or FAIL, "NAME: result PASS|FAIL (...)", and its
// progress lines. The first three drive the drill panel; every one goes to its log.
const DRILL_LINE = /^(\S+): (start(?: \(quick\))?: |objective (pending|PASS|FAIL) |result (PASS|FAIL) )(.*)$/;

function objectiveRow(text) {
    const body = $('#drill-objectives tbody');
    for (const tr of body.children) {
        if (tr.dataset.objective === text) {
            return tr;
        }
    }
    const tr = cellsRow([[text], [''], ['']]);
    tr.dataset.objective = text;
    body.appendChild(tr);
    return tr;
}

function showDrill(text) {
    const m = DRILL_LINE.exec(text);
    if (!m) {
        return;
    }
    const [, name, what, verdict, result, rest] = m;
    const state = $('#drill-state');
    if (what.startsWith('start')) {
        $('#drill-name').textContent = name;
        $('#drill-about').textContent = rest;
        state.textContent = 'running';
        state.className = 'badge running';
        $('#drill-objectives tbody').replaceChildren();
    } else if (name !== $('#drill-name').textContent) {
        // Another drill's late line: the panel follows the one that started last.
    } else if (verdict) {
        const v = /^(.*?)(?: \(([^()]*)\))?$/.exec(rest);
        const tr = objectiveRow(v[1]);
        tr.children[1].textContent = verdict;
        tr.children[2].textContent = v[2] ?? '';
        tr.className = `verdict-${verdict}`;
    } else if (result) {
        state.textContent = `${result} ${rest}`;
        state.className = `badge ${result === 'PASS' ? 'running' : 'degraded'}`;
    }
}

function addEvent(ev) {
    const li = document.createElement('li');
    li.className = `kind-${ev.kind}`;
    const when = new Date(ev.time_ms).toLocaleTimeString();
    li.textContent = `${when} ${ev.kind}${ev.slot >= 0 ? ` slot ${ev.slot}` : ''}: ${ev.text}`;
    const list = ev.kind === 'drill' ? $('#drill-events') : $('#events');
    if (ev.kind === 'drill') {
        $('#drill').hidden = false;
        showDrill(ev.text);
    }
    list.prepend(li);
    while (list.children.length > 300) {
        list.lastChild.remove();
    }
}

// ---- cluster -------------------------------------------------------------------------------

// The fleets sharing this one's NATS (GET /api/cluster: what `wsctl --json cluster` prints),
// polled every CLUSTER_POLL_MS; the panel stays hidden while the fleet hears none (503: no
// broker connection).
const CLUSTER_POLL_MS = 2000;

function showCluster(fleets) {
    const body = $('#cluster-fleets tbody');
    body.replaceChildren();
    for (const f of fleets) {
        const tr = cellsRow([
            [f.name], [f.state, `state-${f.state}`], [f.workers], [f.connections],
            [fmt(f.msgs_in_per_s)], [fmt(f.errors_per_s, 2)], [f.pid], [f.version],
            [`${fmt(f.age_s)} s`],
        ]);
        tr.dataset.fleet = f.name;
        body.appendChild(tr);
    }
}

async function pollCluster() {
    try {
        const r = await fetch('/api/cluster');
        const doc = await r.json();
        if (r.ok && Array.isArray(doc.fleets)) {
            showCluster(doc.fleets);
            $('#cluster').hidden = false;
        } else {
            $('#cluster').hidden = true;
        }
    } catch {
        // The next poll tries again.
    } finally {
        setTimeout(pollCluster, CLUSTER_POLL_MS);
    }
}

// ---- actions -------------------------------------------------------------------------------

function token() {
    return $('#token').value.trim();
}

async function act(confirmText, path, body) {
    const out = $('#action-result');
    if (!window.confirm(confirmText)) {
        return;
    }
    try {
        const res = await fetch(path, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token()}` },
            body: JSON.stringify(body),
        });
        const doc = await res.json();
        out.textContent = res.ok ? doc.message : `${res.status}: ${doc.error.message}`;
    } catch (err) {
        out.textContent = `failed: ${err.message}`;
    }
}

function setupActions() {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
        $('#token').value = saved;
    }
    $('#token').addEventListener('change', () => sessionStorage.setItem(TOKEN_KEY, token()));
    $('#scale').addEventListener('click', () => {
        const count = Number($('#scale-count').value);
        act(`Scale the fleet to ${count} workers?`, '/api/scale', { count });
    });
    $('#autoscale').addEventListener('click', () => act(
        `Turn autoscaling ${autoscaleOn ? 'off' : 'on'}?`, '/api/autoscale', { on: !autoscaleOn }));
    $('#rolling').addEventListener('click', () => act('Restart every worker, one at a time?',
        '/api/restart', { slot: -1, rolling: true }));
}

// ---- feed ----------------------------------------------------------------------------------

let lastEventId = 0;

function onEvent(ev) {
    if (ev.id > lastEventId) {
        lastEventId = ev.id;
        addEvent(ev);
    }
}

async function catchUp() {
    const r = await fetch(`/api/events?since=${lastEventId}`);
    (await r.json()).events.forEach(onEvent);
}

function connect(delay) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    let opened = 0;
    ws.onopen = () => {
        opened = Date.now();
        $('#feed').textContent = '';
        catchUp().catch(() => {});
    };
    ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === 'snapshot') {
            showStatus(msg.status);
            showWorkers(msg.workers);
            if (msg.alerts) {
                showAlerts(msg.alerts);
            }
            if (msg.point) {
                pushPoint(msg.point);
                redraw();
            }
        } else if (msg.type === 'event') {
            onEvent(msg.event);
        }
    };
    ws.onclose = () => {
        $('#state').textContent = 'disconnected';
        $('#state').className = 'badge disconnected';
        // Full jitter, 0.5 s doubling to 20 s; back to 0.5 s after 30 s connected.
        const next = opened && Date.now() - opened > 30000 ? 500 : Math.min(delay * 2, 20000);
        const wait = Math.random() * next;
        $('#feed').textContent = `reconnecting in ${(wait / 1000).toFixed(1)} s`;
        setTimeout(() => connect(next), wait);
    };
}

async function start() {
    setupCharts();
    setupActions();
    try {
        const get = async (path) => (await fetch(path)).json();
        const [st, ws, h, al] = await Promise.all([get('/api/status'), get('/api/workers'),
            get(`/api/history?seconds=${HISTORY_SECONDS}`), get('/api/alerts')]);
        showStatus(st);
        showWorkers(ws.workers);
        showAlerts(al.firing);
        h.points.forEach(pushPoint);
        redraw();
        await catchUp();
    } catch {
        // The feed fills in what the first requests could not.
    }
    connect(500);
    pollCluster();
}

start();
