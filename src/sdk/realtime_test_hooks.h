/* realtime_test_hooks.h: test-only entry points into the realtime client. NOT public API: not
 * installed, not in rtauth.h, may change at any time. They let tests/sdk simulate what only
 * the network or another server can otherwise do (a transport lost without CLOSE, an AUTH
 * rtauthd never sends), against a real rtauthd. */
#ifndef RTA_SDK_REALTIME_TEST_HOOKS_H
#define RTA_SDK_REALTIME_TEST_HOOKS_H

#include <stdint.h>

#include "rtauth/realtime.h"

/* Drops the WebSocket of a connected client at once, as a lost network would (no CLOSE, no
 * DISCONNECT: rtauthd keeps the connection detached and resumable, docs/gateway.md "Resume"),
 * and goes disconnected with the next attempt (a resume, RTN15b) after reconnect_after_ms
 * (0: at once). Asynchronous: the I/O thread acts on it; no-op unless connected. Returns 0. */
int rta__realtime_drop_transport(rta_realtime *rt, int64_t reconnect_after_ms);

/* Acts as if the server had sent AUTH (RTN22), which rtauthd sends only to token connections
 * (ahead of expiry, or for a revocation with allowReauthMargin), while Ably may send it to any.
 * Asynchronous, on the I/O thread; no-op unless connected. Returns 0. */
int rta__realtime_server_auth(rta_realtime *rt);

#endif
