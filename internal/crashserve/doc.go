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
package crashserve
