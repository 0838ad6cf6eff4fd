// Comparison peer for bench/run: a uWebSockets echo server on ws://127.0.0.1:PORT/echo that answers
// text with text and binary with binary, without compression, with the library's own defaults
// otherwise. Built by bench/peers/build-uws against the checkout in UWS_DIR, never in this tree.
// Usage: uws_echo PORT   (PORT 0 picks a free port; the ready line names it)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <unistd.h>

#include "App.h"

namespace {

struct PeerSession {};

us_listen_socket_t *peer_listener = nullptr;
uWS::Loop *peer_loop = nullptr;

} // namespace

int main(int argc, char **argv)
{
    int port = argc > 1 ? std::atoi(argv[1]) : 0;
    if (argc > 2 || port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: uws_echo PORT\n");
        return 100;
    }
    std::signal(SIGPIPE, SIG_IGN);

    uWS::App app;
    app.ws<PeerSession>("/echo", {
        .compression = uWS::DISABLED,
        .message = [](auto *ws, std::string_view message, uWS::OpCode op) { ws->send(message, op); },
    });
    app.listen("127.0.0.1", port, [](us_listen_socket_t *ls) {
        if (ls == nullptr) {
            std::fprintf(stderr, "uws_echo[%d] error: cannot listen\n", (int)getpid());
            std::exit(100);
        }
        peer_listener = ls;
        int p = us_socket_local_port(0, (us_socket_t *)ls);
        std::fprintf(stderr, "uws_echo[%d] listening on 127.0.0.1:%d\n", (int)getpid(), p);
        std::fprintf(stderr, "uws_echo[%d] ready\n", (int)getpid());
    });
    // SIGTERM closes the listener and every socket, so that the loop returns and a profiler wrapping
    // the process sees a normal exit.
    peer_loop = uWS::Loop::get();
    static us_timer_t *tick = us_create_timer((us_loop_t *)peer_loop, 0, 0);
    static volatile std::sig_atomic_t stop = 0;
    std::signal(SIGTERM, [](int) { stop = 1; });
    us_timer_set(tick, [](us_timer_t *t) {
        if (!stop)
            return;
        if (peer_listener != nullptr) {
            us_listen_socket_close(0, peer_listener);
            peer_listener = nullptr;
        }
        us_timer_close(t);
        peer_loop->defer([]() {});
    }, 250, 250);
    app.run();
    return 0;
}
