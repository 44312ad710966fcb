package bot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// A broadcast survives SIGKILL half-way: the killed process's work is
// resumed by the next one, every recipient's flow runs exactly once (one
// message in each history), and the only message a channel may see twice
// is one in flight at the kill (the outbox delivers at least once).

const bcastCrashEnv = "PARLEY_BCAST_CRASH_DB"

// crashSendWorkers bounds the sends in progress in the child, so at most
// that many can be in flight (sent, not acknowledged) at the kill.
const crashSendWorkers = 4

// logSender appends every message it sends to a file, which outlives the
// killed process.
type logSender struct {
	mu sync.Mutex
	f  *os.File
}

func (s *logSender) Channel() channel.Name { return channel.Telegram }
func (s *logSender) Send(_ context.Context, out channel.Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := fmt.Fprintf(s.f, "%s\t%s\n", out.To.ID, out.Text)
	return err
}

// TestBroadcastCrashChild is the process that is killed.
func TestBroadcastCrashChild(t *testing.T) {
	path := os.Getenv(bcastCrashEnv)
	if path == "" {
		t.Skip("helper process for TestBroadcastSurvivesSIGKILL")
	}
	fail := func(err error) { fmt.Fprintln(os.Stderr, "child:", err); os.Exit(1) }
	db, err := store.Open(path, store.Options{})
	if err != nil {
		fail(err)
	}
	p, err := flows.LoadDir(filepath.Join("testdata", "trigger"))
	if err != nil {
		fail(err)
	}
	f, err := os.OpenFile(path+".sent", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fail(err)
	}
	rt := New(Config{Logger: quietLogger(), SendWorkers: crashSendWorkers, TriggerIdle: time.Hour, TriggerSweep: time.Hour}, db, p.NewEngine(flows.Options{}), &logSender{f: f})
	ctx := context.Background()
	if err := rt.Start(ctx); err != nil {
		fail(err)
	}
	run := NewBroadcaster(rt, db, nil, nil, quietLogger())
	run.Tick = 10 * time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	go run.Run(rctx)
	for {
		all, err := db.Broadcasts()
		if err != nil {
			fail(err)
		}
		if len(all) == 1 && all[0].State == store.BroadcastDone {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := rt.Shutdown(ctx); err != nil {
		fail(err)
	}
	db.Close()
	os.Exit(0)
}

func TestBroadcastSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	n := 200 // PARLEY_BCAST_CRASH_N=10000 for the size (make bench-crash-broadcast)
	if s := os.Getenv("PARLEY_BCAST_CRASH_N"); s != "" {
		if n, _ = strconv.Atoi(s); n < 2 {
			t.Fatalf("PARLEY_BCAST_CRASH_N=%q: want a number > 1", s)
		}
	}
	path := filepath.Join(t.TempDir(), "bcast.db")
	began := time.Now()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if _, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 1000+i), "", "en"); err != nil {
			t.Fatal(err)
		}
	}
	bc, err := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "shipped", Params: map[string]any{"order": "K"}, Rate: 60000})
	if err != nil {
		t.Fatal(err)
	}
	if bc, err = StartBroadcast(ctx, db, bc.ID, time.Now()); err != nil || bc.Total != n {
		t.Fatalf("start = %+v, %v", bc, err)
	}
	db.Close()
	setup := time.Since(began)
	began = time.Now()

	sentLines := func() []string {
		b, _ := os.ReadFile(path + ".sent")
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(l, "\tOrder K shipped.") {
				out = append(out, l)
			}
		}
		return out
	}
	// First run: killed once about half the recipients got their message.
	cmd := exec.Command(os.Args[0], "-test.run=^TestBroadcastCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), bcastCrashEnv+"="+path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Duration(60+n/50) * time.Second)
	for len(sentLines()) < n/2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child sent only %d in time", len(sentLines()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	atKill := len(sentLines())
	if atKill >= n {
		t.Fatalf("the child finished (%d sent) before the kill; nothing was tested", atKill)
	}
	// Second run: resumes and finishes.
	cmd = exec.Command(os.Args[0], "-test.run=^TestBroadcastCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), bcastCrashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { out <- cmd.Wait() }()
	select {
	case err := <-out:
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
	case <-time.After(time.Duration(60+n/50) * time.Second):
		cmd.Process.Kill()
		t.Fatal("second run did not finish in time")
	}

	sending := time.Since(began)
	db, err = store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	bc, _ = db.Broadcast(bc.ID)
	if bc.State != store.BroadcastDone || bc.Counts[store.OutcomeSent] != n {
		t.Fatalf("broadcast = %s %v, want done with %d sent", bc.State, bc.Counts, n)
	}
	rs, _ := db.Recipients(bc.ID, 0, 0)
	for _, r := range rs {
		h, err := db.History(r.ContactID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, m := range h {
			if m.Dir == store.DirOut && m.Text == "Order K shipped." {
				got++
			}
		}
		if got != 1 {
			t.Errorf("contact %s has the broadcast %d times in its history, want once", r.ContactID, got)
		}
	}
	per := map[string]int{}
	for _, l := range sentLines() {
		chat, _, _ := strings.Cut(l, "\t")
		per[chat]++
	}
	dups := 0
	for i := range n {
		c := strconv.Itoa(1000 + i)
		switch {
		case per[c] == 0:
			t.Errorf("telegram:%s never got the broadcast", c)
		case per[c] > 1:
			dups += per[c] - 1
		}
	}
	// Only a message in flight at the kill may go twice (sent, not yet
	// acknowledged in the outbox).
	if dups > crashSendWorkers {
		t.Errorf("%d messages went twice; at most the ones in flight at the kill may", dups)
	}
	t.Logf("%d recipients, killed after %d, %d resent by the outbox; setup %v, sending (two processes) %v: %.0f recipients/s",
		n, atKill, dups, setup.Round(time.Millisecond), sending.Round(time.Millisecond), float64(n)/sending.Seconds())
}
