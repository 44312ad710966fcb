package bot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jobRecorder records the jobs run per key and the peak number running at once.
type jobRecorder struct {
	mu            sync.Mutex
	got           map[string][]int
	running, peak atomic.Int32
}

func (r *jobRecorder) run(key string, j int) {
	n := r.running.Add(1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	r.mu.Lock()
	r.got[key] = append(r.got[key], j)
	r.mu.Unlock()
	r.running.Add(-1)
}

func TestLanesKeepOrderPerKeyAndRunKeysInParallel(t *testing.T) {
	rec := &jobRecorder{got: map[string][]int{}}
	l := newLanes(4, rec.run)
	const keys, jobs = 50, 200
	var wg sync.WaitGroup
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for j := 0; j < jobs; j++ {
				l.push(fmt.Sprint(k), j)
			}
		}(k)
	}
	wg.Wait()
	l.wait()
	if l.pending() != 0 {
		t.Fatalf("pending = %d after wait, want 0", l.pending())
	}
	for k := 0; k < keys; k++ {
		seq := rec.got[fmt.Sprint(k)]
		if len(seq) != jobs {
			t.Fatalf("key %d ran %d jobs, want %d", k, len(seq), jobs)
		}
		for i, j := range seq {
			if i != j {
				t.Fatalf("key %d ran job %d at position %d: order broken", k, j, i)
			}
		}
	}
	if rec.peak.Load() > 4 {
		t.Errorf("peak concurrency %d exceeds limit 4", rec.peak.Load())
	}
}

// Jobs a producer runs itself (tryAcquire) and jobs it queues keep one
// order per key, and inline runs count against the concurrency limit.
func TestLanesInlineRunsKeepOrder(t *testing.T) {
	rec := &jobRecorder{got: map[string][]int{}}
	run := rec.run
	l := newLanes(3, run)
	const keys, jobs = 20, 300
	var inline atomic.Int32
	var wg sync.WaitGroup
	for k := 0; k < keys; k++ {
		wg.Go(func() {
			key := fmt.Sprint(k)
			for j := 0; j < jobs; j++ {
				if j%5 != 4 && l.tryAcquire(context.Background(), key) { // every fifth is queued anyway
					inline.Add(1)
					run(key, j)
					l.release(key)
				} else {
					l.push(key, j)
				}
			}
		})
	}
	wg.Wait()
	l.wait()
	if l.pending() != 0 {
		t.Fatalf("pending = %d after wait, want 0", l.pending())
	}
	for k := 0; k < keys; k++ {
		seq := rec.got[fmt.Sprint(k)]
		if len(seq) != jobs {
			t.Fatalf("key %d ran %d jobs, want %d", k, len(seq), jobs)
		}
		for i, j := range seq {
			if i != j {
				t.Fatalf("key %d ran job %d at position %d: order broken", k, j, i)
			}
		}
	}
	if inline.Load() == 0 {
		t.Error("no job ran inline")
	}
	if rec.peak.Load() > 3 {
		t.Errorf("peak concurrency %d exceeds limit 3", rec.peak.Load())
	}
}

// A caller waiting for a worker slot gives up with its context, leaving
// the lane it claimed free again (or to the jobs queued behind it).
func TestLanesSlotWaitEndsWithContext(t *testing.T) {
	ran := make(chan string, 4)
	l := newLanes(1, func(key string, _ int) { ran <- key })
	if !l.tryAcquire(context.Background(), "a") {
		t.Fatal("idle lane not acquired")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan bool)
	go func() { got <- l.tryAcquire(ctx, "b") }()
	time.Sleep(10 * time.Millisecond)
	l.push("b", 1) // queued behind the waiting claim
	cancel()
	if <-got {
		t.Fatal("tryAcquire returned true with no free slot and its context done")
	}
	l.release("a")
	if k := <-ran; k != "b" {
		t.Errorf("ran %q, want the job queued behind the abandoned claim", k)
	}
	l.wait()
	if n := l.pending(); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
}
