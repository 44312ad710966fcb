package crashserve

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// envInt reads a positive number from the first of names that is set.
func envInt(t *testing.T, def int, names ...string) int {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				t.Fatalf("%s=%q: want a whole number ≥ 0", n, v)
			}
			return i
		}
	}
	return def
}

func root(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCrashServe is `make crash-serve`: kill -9 under load (CRASH_KILLS,
// default 20). An acknowledged message must never lose its reply, a kill
// may repeat at most one reply per chat (the one in flight), and replies
// keep their chat's order. PARLEY_CRASH_BIN runs a given binary instead of
// building one (to measure an older build); CRASH_AIM=1 lands kills right
// after a send; CRASH_SLOW_SYNC_MS=N holds every fsync N ms (under strace).
func TestCrashServe(t *testing.T) {
	if os.Getenv("PARLEY_CRASH_SERVE") == "" {
		t.Skip("kill -9 harness: run with make crash-serve (PARLEY_CRASH_SERVE=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		Bin: os.Getenv("PARLEY_CRASH_BIN"), Root: root(t), Dir: t.TempDir(),
		Kills:         envInt(t, 20, "CRASH_KILLS", "PARLEY_CRASH_KILLS"),
		TelegramChats: envInt(t, 60, "CRASH_TG_CHATS"), VKChats: envInt(t, 20, "CRASH_VK_CHATS"),
		Rate:     float64(envInt(t, 25, "CRASH_RATE")),
		Aim:      os.Getenv("CRASH_AIM") != "",
		SlowSync: time.Duration(envInt(t, 0, "CRASH_SLOW_SYNC_MS")) * time.Millisecond,
		Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	for name, ch := range map[string]Channel{"telegram": rep.Telegram, "vk": rep.VK} {
		if ch.Lost > 0 {
			t.Errorf("%s: %d acknowledged messages never got their reply", name, ch.Lost)
		}
		if ch.MaxPerChatKill > 1 {
			t.Errorf("%s: one kill repeated %d replies to one chat; at most the one in flight may be repeated", name, ch.MaxPerChatKill)
		}
		if ch.Reordered > 0 {
			t.Errorf("%s: %d replies arrived after a reply to a later message", name, ch.Reordered)
		}
	}
	if rep.VK.Duplicates > 0 {
		t.Errorf("vk: %d replies shown twice; VK drops a repeated random_id, so none should be", rep.VK.Duplicates)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func benchConfig(t *testing.T) Config {
	return Config{
		Bin: os.Getenv("PARLEY_CRASH_BIN"), Root: root(t), Dir: t.TempDir(),
		TelegramChats: envInt(t, 500, "SERVE_BENCH_CHATS"), Rate: float64(envInt(t, 25, "SERVE_BENCH_RATE")),
		Duration: time.Duration(envInt(t, 60, "SERVE_BENCH_SECONDS")) * time.Second,
		Progress: testWriter{t},
	}
}

// TestServeFirstReplyLatency is the first reply's latency on Telegram with
// 500 chats writing once every 20 s (25 messages a second in), each turn an
// answer and a question with buttons (make serve-bench).
func TestServeFirstReplyLatency(t *testing.T) {
	if os.Getenv("PARLEY_SERVE_BENCH") == "" {
		t.Skip("load benchmark: run with make serve-bench (PARLEY_SERVE_BENCH=1)")
	}
	rep, err := Run(context.Background(), benchConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.Telegram.Lost > 0 || rep.Telegram.Unanswered > 0 {
		t.Errorf("telegram: %d lost, %d unanswered without a kill", rep.Telegram.Lost, rep.Telegram.Unanswered)
	}
}

// TestServeFloodDoesNotSlowOthers runs the same load twice, the second time
// with one more chat sending SERVE_FLOOD_RATE (default 100) messages a
// second: the other customers' first-reply p99 may grow by 20% at most
// (or 50 ms, below which loopback timings are noise).
func TestServeFloodDoesNotSlowOthers(t *testing.T) {
	if os.Getenv("PARLEY_SERVE_BENCH") == "" {
		t.Skip("load benchmark: run with make serve-bench (PARLEY_SERVE_BENCH=1)")
	}
	base, err := Run(context.Background(), benchConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("without the flood:\n%s", base)
	cfg := benchConfig(t)
	cfg.FloodRate = float64(envInt(t, 100, "SERVE_FLOOD_RATE"))
	flooded, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with one chat flooding at %.0f/s:\n%s", cfg.FloodRate, flooded)
	limit := max(base.Telegram.P99*6/5, base.Telegram.P99+50*time.Millisecond)
	if flooded.Telegram.P99 > limit {
		t.Errorf("the flood raised the others' first-reply p99 from %s to %s (limit %s)",
			base.Telegram.P99.Round(time.Millisecond), flooded.Telegram.P99.Round(time.Millisecond), limit.Round(time.Millisecond))
	}
}
