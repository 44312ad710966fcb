package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsVisitor is a web chat visitor that records every bot message.
type wsVisitor struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	msgs []string
	n    int
}

func newVisitor(t *testing.T, addr string) *wsVisitor {
	t.Helper()
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	v := &wsVisitor{ws: ws}
	ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","batch":true}`))
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			for line := range bytes.SplitSeq(data, []byte{'\n'}) {
				var f struct{ Type, Text string }
				if json.Unmarshal(line, &f) == nil && f.Type == "message" {
					v.mu.Lock()
					v.msgs = append(v.msgs, f.Text)
					v.mu.Unlock()
				}
			}
		}
	}()
	return v
}

func (v *wsVisitor) say(t *testing.T, text string) {
	t.Helper()
	v.n++
	frame := fmt.Sprintf(`{"type":"message","id":"r%d","text":%q}`, v.n, text)
	if err := v.ws.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits for a bot message containing s after the first skip ones.
func (v *wsVisitor) waitFor(t *testing.T, skip int, s string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("a bot message with %q", s), func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, m := range v.msgs[min(skip, len(v.msgs)):] {
			if strings.Contains(m, s) {
				return true
			}
		}
		return false
	})
}

func (v *wsVisitor) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.msgs)
}

func TestFlowFilesAreReloadedWhenTheyLintClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	var out strings.Builder
	if code := Run([]string{"init", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("init: %s", out.String())
	}
	s, logs := startServer(t, func(c *Config) { c.Flows = dir })
	v := newVisitor(t, s.addr)
	v.say(t, "привет")
	v.waitFor(t, 0, "Чем помочь?")

	main := filepath.Join(dir, "flows", "main.yaml")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "Чем помочь?", "Чем могу помочь сегодня?", 1)
	if changed == string(src) {
		t.Fatal("the demo greeting changed; update the test")
	}
	if err := os.WriteFile(main, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reload", func() bool { return strings.Contains(logs.String(), "flows reloaded") })
	n := v.count()
	v.say(t, "меню")
	v.waitFor(t, n, "Чем могу помочь сегодня?")

	// A broken edit is refused with its position; the last good version keeps serving.
	broken := strings.Replace(changed, "next: menu", "next: no_such_node", 1)
	if err := os.WriteFile(main, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the refusal", func() bool { return strings.Contains(logs.String(), "flow change refused") })
	if !strings.Contains(logs.String(), "main.yaml:") || !strings.Contains(logs.String(), "no_such_node") {
		t.Errorf("the refusal does not say where and what:\n%s", logs.String())
	}
	time.Sleep(100 * time.Millisecond)
	n = v.count()
	v.say(t, "меню")
	v.waitFor(t, n, "Чем могу помочь сегодня?")
}

// The lead's handoff settings apply on a project reload (issue 13): hours
// that close the team today and a new out-of-hours notice, written into
// parley.yaml while the server runs, are what the next escalating
// customer gets; the one before the edit was queued.
func TestHandoffSettingsApplyOnReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	var out strings.Builder
	if code := Run([]string{"init", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("init: %s", out.String())
	}
	s, logs := startServer(t, func(c *Config) { c.Flows = dir })
	complain := func(v *wsVisitor) {
		t.Helper()
		v.say(t, "Хочу оставить жалобу")
		v.waitFor(t, 0, "Опишите")
		n := v.count()
		v.say(t, "Курьер опоздал на три дня")
		v.waitFor(t, n, "")
	}
	before := newVisitor(t, s.addr)
	complain(before)
	before.waitFor(t, 0, "Я передал ваш вопрос команде поддержки")

	project := filepath.Join(dir, "parley.yaml")
	src, err := os.ReadFile(project)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	closed := fmt.Sprintf("handoff:\n  time_zone: UTC\n  hours: [\"daily 00:00-24:00\"]\n  holidays: [%q, %q]\n"+
		"  texts:\n    out_of_hours: \"Сегодня мы закрыты, вернёмся {opens}.\"\n",
		today.Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02"))
	changed := strings.Replace(string(src), "handoff:\n", closed, 1)
	if changed == string(src) {
		t.Fatal("the demo has no handoff: section; update the test")
	}
	if err := os.WriteFile(project, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the settings applied", func() bool { return strings.Contains(logs.String(), "the project's handoff settings applied") })
	after := newVisitor(t, s.addr)
	complain(after)
	after.waitFor(t, 0, "Сегодня мы закрыты, вернёмся")
	if strings.Contains(logs.String(), "until the server restarts") {
		t.Error("the server still says the settings wait for a restart")
	}
}

// The lead's file retention (parley.yaml files: keep:) applies on reload,
// and the server's own (files.keep) again once the project drops it.
func TestFilesKeepFollowsReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	var out strings.Builder
	if code := Run([]string{"init", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("init: %s", out.String())
	}
	project := filepath.Join(dir, "parley.yaml")
	src, err := os.ReadFile(project)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(project, append(src, "\nfiles: {keep: 90d}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	s, logs := startServer(t, func(c *Config) { c.Flows = dir; c.Files.Keep = 720 * time.Hour })
	if got := s.runtime.FilesKeep(); got != 90*24*time.Hour {
		t.Fatalf("retention at start = %v, want the project's 90 days", got)
	}
	// Written again until a reload is logged: the watcher may start
	// watching a moment after the server answers.
	waitUntil(t, "the reload", func() bool {
		if err := os.WriteFile(project, src, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		return strings.Contains(logs.String(), "flows reloaded")
	})
	waitUntil(t, "the server's retention again", func() bool { return s.runtime.FilesKeep() == 720*time.Hour })
}
