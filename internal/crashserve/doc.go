// Package crashserve is the kill -9 harness for `parley serve` (make
// crash-serve) and its load benchmarks. It builds the parley binary, runs it
// as a process on a temporary database against a fake Telegram Bot API
// (long polling) and a fake VK API (Bots Long Poll) on loopback, feeds them
// numbered messages from many chats, kills the server with SIGKILL at random
// moments, restarts it, and at the end checks what the customers saw:
//
//   - acknowledged-lost: a message the fake saw acknowledged (Telegram's
//     offset or VK's ts moved past it) whose reply never came; must be 0;
//   - duplicates: a reply a customer got twice, in all, per kill, and the
//     most one chat got from one kill (one is the floor on Telegram, which has
//     no idempotency key: a reply in flight at the kill is sent again);
//     on VK a repeat that reuses its random_id is dropped by VK and not counted;
//   - reordering: a chat's replies that arrived out of the order of its
//     messages.
//
// The same machinery measures the first reply's latency under a steady load
// (no kills) and with one chat flooding. Everything runs on 127.0.0.1, bounded
// in time and count, and stops by itself. The tests that run it are gated by
// environment variables (PARLEY_CRASH_SERVE, PARLEY_SERVE_BENCH) so that
// `make test` does not run them.
//
//	make crash-serve                      20 kills at random moments
//	make crash-serve CRASH_KILLS=60       more kills
//	CRASH_AIM=1 make crash-serve          each kill within 3 ms after Telegram accepted a reply
//	CRASH_SLOW_SYNC_MS=50 make crash-serve  every fsync held 50 ms (a busy disk; needs strace)
//	PARLEY_CRASH_BIN=old/parley ...       measure another build (the project is the harness's)
//	make serve-bench                      first-reply latency, 500 chats at 25/s, with and without a flood
//
// CRASH_TG_CHATS, CRASH_VK_CHATS and CRASH_RATE set the crash load (60, 20,
// 25/s); SERVE_BENCH_CHATS, SERVE_BENCH_RATE, SERVE_BENCH_SECONDS and
// SERVE_FLOOD_RATE the benchmark's (500, 25/s, 60 s, 100/s).
package crashserve
