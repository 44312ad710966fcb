package store_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// The crash test re-executes the test binary as a child that writes turns
// in a loop and prints "ack WORKER I" after each Commit returned, kills it
// with SIGKILL mid-loop, and proves that every acknowledged turn is in the
// file, complete. PARLEY_CRASH_ROUNDS=N runs N kill/verify rounds on the
// same file (make crash); the default is 2 short rounds.
const (
	crashEnv     = "PARLEY_STORE_CRASH_CHILD" // the child's database path
	crashWorkers = 8
)

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedTurns")
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() {
			c, _, err := db.ResolveContact(ctx, fmt.Sprintf("web:crash%d", w), "", "")
			if err != nil {
				fmt.Println("fatal", err)
				os.Exit(1)
			}
			// Continue after the turns of earlier rounds.
			start := 0
			if s, err := db.Session(c.ID); err == nil && s != nil {
				start, _ = strconv.Atoi(string(s))
			}
			// Odd workers take the runtime's one-write path: the turn itself
			// records the event key. The last turn of the killed run,
			// redelivered, must be refused.
			oneWrite := w%2 == 1
			if oneWrite && start > 0 {
				_, err := db.Commit(ctx, store.Turn{ContactID: c.ID, EventKey: fmt.Sprintf("ev:%d:%d", w, start-1)})
				if !errors.Is(err, store.ErrDuplicate) {
					fmt.Println("fatal: redelivered turn", start-1, "of worker", w, "not refused:", err)
					os.Exit(1)
				}
			}
			for i := start; ; i++ {
				key := fmt.Sprintf("ev:%d:%d", w, i)
				var seq uint64
				if !oneWrite {
					var dup bool
					seq, dup, err = db.Enqueue(ctx, c.ID, key, fmt.Appendf(nil, "%d", i))
					if dup {
						// Recorded by the killed run but not processed: resume it,
						// as the runtime does with PendingInbox on start.
						seq, err = pendingSeq(db, key)
					}
					if err != nil {
						fmt.Println("fatal", err)
						os.Exit(1)
					}
				}
				turn := store.Turn{
					ContactID: c.ID, InboxSeq: seq, Session: strconv.AppendInt(nil, int64(i+1), 10),
					Messages: []store.Message{{Dir: "in", Text: fmt.Sprintf("in-%d", i)}, {Dir: "out", Text: fmt.Sprintf("out-%d", i)}},
					Events:   []store.Event{{Type: "turn", Data: map[string]string{"i": strconv.Itoa(i)}}},
					Outbox:   []store.OutboxEntry{{Address: "web:x", Data: fmt.Appendf(nil, "%d-%d", w, i)}},
				}
				if oneWrite {
					turn.EventKey = key
				}
				if _, err := db.Commit(ctx, turn); err != nil {
					fmt.Println("fatal", err)
					os.Exit(1)
				}
				out.Lock()
				fmt.Printf("ack %d %d\n", w, i) // unbuffered: in the pipe before the next turn starts
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

func pendingSeq(db *store.DB, key string) (uint64, error) {
	pending, err := db.PendingInbox()
	if err != nil {
		return 0, err
	}
	for _, e := range pending {
		if e.EventKey == key {
			return e.Seq, nil
		}
	}
	return 0, fmt.Errorf("event %s is a duplicate but not pending", key)
}

func TestCrashKeepsAcknowledgedTurns(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	rounds := 2
	if s := os.Getenv("PARLEY_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PARLEY_CRASH_ROUNDS=%q: want a positive number", s)
		}
		rounds = n
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := make([]int, crashWorkers) // turns acknowledged per worker, over all rounds
	for round := range rounds {
		runCrashChild(t, path, acked, time.Duration(150+rand.IntN(500))*time.Millisecond)
		verifyCrash(t, path, acked)
		if t.Failed() {
			t.Fatalf("round %d failed", round)
		}
	}
	total := 0
	for _, n := range acked {
		total += n
	}
	t.Logf("%d rounds, %d acknowledged turns, all present", rounds, total)
}

func runCrashChild(t *testing.T, path string, acked []int, after time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The kill is timed from the child's first acknowledgement, not from
	// its start: on a loaded machine the test binary can take longer than
	// `after` just to start, and a kill before any turn proves nothing.
	// A child that acknowledges nothing in 30 s is killed and fails below.
	var kill <-chan time.Time
	noAck := time.After(30 * time.Second)
	seen := 0
	for lines != nil {
		select {
		case <-noAck:
			noAck = nil
			if seen == 0 {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		case <-kill:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kill = nil
		case line, ok := <-lines:
			if !ok {
				lines = nil
				break
			}
			var w, i int
			if _, err := fmt.Sscanf(line, "ack %d %d", &w, &i); err != nil {
				t.Fatalf("child: %s", line)
			}
			if i != acked[w] {
				t.Fatalf("child acknowledged worker %d turn %d, expected turn %d next", w, i, acked[w])
			}
			acked[w]++
			if seen == 0 {
				kill = time.After(after)
			}
			seen++
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	if seen == 0 {
		t.Fatal("child acknowledged nothing before the kill")
	}
}

// verifyCrash checks the file after a kill: consistent, and every
// acknowledged turn present and complete (messages, session, outbox, event,
// inbox entry consumed). At most one turn per worker may be committed but
// unacknowledged (killed between Commit and the print).
func verifyCrash(t *testing.T, path string, acked []int) {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	outbox := map[string]bool{}
	obs, err := db.PendingOutbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		outbox[string(o.Data)] = true
	}
	events := map[string]int{}
	err = db.Events(time.Time{}, time.Time{}, func(e store.Event) error {
		events[e.ContactID+"/"+e.Data["i"]]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := db.PendingInbox()
	if err != nil {
		t.Fatal(err)
	}
	for w, n := range acked {
		c, err := db.ContactByIdentity(fmt.Sprintf("web:crash%d", w))
		if err != nil {
			t.Fatalf("worker %d: %v", w, err)
		}
		hist, err := db.History(c.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		committed := len(hist) / 2
		if len(hist)%2 != 0 || committed < n || committed > n+1 {
			t.Errorf("worker %d: %d messages for %d acknowledged turns", w, len(hist), n)
			continue
		}
		for i := range committed {
			if hist[2*i].Text != fmt.Sprintf("in-%d", i) || hist[2*i+1].Text != fmt.Sprintf("out-%d", i) {
				t.Errorf("worker %d turn %d: messages %q, %q", w, i, hist[2*i].Text, hist[2*i+1].Text)
			}
			if !outbox[fmt.Sprintf("%d-%d", w, i)] {
				t.Errorf("worker %d turn %d: outbox entry missing", w, i)
			}
			if events[c.ID+"/"+strconv.Itoa(i)] != 1 {
				t.Errorf("worker %d turn %d: %d events", w, i, events[c.ID+"/"+strconv.Itoa(i)])
			}
		}
		if s, _ := db.Session(c.ID); string(s) != strconv.Itoa(committed) {
			t.Errorf("worker %d: session %q after %d committed turns", w, s, committed)
		}
		for _, e := range pending {
			if e.ContactID == c.ID && string(e.Data) != strconv.Itoa(committed) {
				t.Errorf("worker %d: inbox still holds turn %s, %d are committed", w, e.Data, committed)
			}
		}
		// The unacknowledged but committed turn counts as done next round.
		acked[w] = committed
	}
}
