// Clients that each send a numbered message every `everyMs` and check every reply, for tests that
// change the fleet under live echo traffic (upgrades, adoption).
import { waitFor } from './fleet.mjs';

// Starts the traffic on already open clients. stop() ends it, waits for the replies in flight,
// hands each client to release(ws) (close or terminate it) and resolves with
// { sent, answered, wrong, closes, errors }.
export function numberedEchoers(clients, everyMs, release) {
    const st = { sent: 0, answered: 0, wrong: 0, closes: [], errors: [] };
    const timers = [];
    clients.forEach((ws, i) => {
        let next = 0;
        let expect = 0;
        ws.on('message', (data) => {
            if (String(data) === `c${i} m${expect}`) {
                st.answered++;
            } else {
                st.wrong++;
            }
            expect++;
        });
        ws.on('close', (code) => st.closes.push(code));
        ws.on('error', (err) => st.errors.push(err.code ?? err.message));
        timers.push(setInterval(() => {
            if (ws.readyState === ws.OPEN) {
                ws.send(`c${i} m${next++}`);
                st.sent++;
            }
        }, everyMs));
    });
    return {
        state: st,
        async stop() {
            timers.forEach(clearInterval);
            await waitFor(() => st.answered + st.wrong >= st.sent || st.closes.length > 0, 10000,
                'the replies in flight');
            for (const ws of clients) {
                ws.removeAllListeners('close');
                release(ws);
            }
            return st;
        },
    };
}
