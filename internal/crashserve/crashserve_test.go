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
// building one (to measure an older build).
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
