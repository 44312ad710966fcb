package bot

import (
	"context"
	"sync"
)

// lanes runs jobs strictly in order per key (one contact's messages) and
// different keys in parallel, with at most limit jobs running at once. A
// lane's goroutine exists only while the lane has work.
type lanes[J any] struct {
	run   func(key string, j J)
	sem   chan struct{}
	mu    sync.Mutex
	queue map[string][]J
	wg    sync.WaitGroup
}

func newLanes[J any](limit int, run func(key string, j J)) *lanes[J] {
	return &lanes[J]{run: run, sem: make(chan struct{}, limit), queue: make(map[string][]J)}
}

// push queues j behind the key's earlier jobs.
func (l *lanes[J]) push(key string, j J) {
	l.mu.Lock()
	q, busy := l.queue[key]
	l.queue[key] = append(q, j)
	if !busy {
		l.wg.Add(1)
		go l.drain(key)
	}
	l.mu.Unlock()
}

func (l *lanes[J]) drain(key string) {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		q := l.queue[key]
		if len(q) == 0 {
			delete(l.queue, key)
			l.mu.Unlock()
			return
		}
		j := q[0]
		var zero J
		q[0] = zero
		l.queue[key] = q[1:]
		l.mu.Unlock()

		l.sem <- struct{}{}
		l.run(key, j)
		<-l.sem
	}
}

// tryAcquire claims key's lane for a job the caller runs itself, when the
// lane is idle, and then waits for a worker slot (so a burst waits here,
// in its callers, instead of queueing). It is false when the lane is busy,
// or ctx ended before a slot was free. After true, call release.
func (l *lanes[J]) tryAcquire(ctx context.Context, key string) bool {
	l.mu.Lock()
	if _, busy := l.queue[key]; busy {
		l.mu.Unlock()
		return false
	}
	l.queue[key] = nil // busy, nothing queued behind
	l.wg.Add(1)
	l.mu.Unlock()
	select {
	case l.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		l.handOff(key)
		return false
	}
}

// release ends a tryAcquire: jobs pushed meanwhile run next, in order.
func (l *lanes[J]) release(key string) {
	<-l.sem
	l.handOff(key)
}

// handOff gives up a claimed lane: to a drain for the jobs pushed behind
// the claim, or back to idle.
func (l *lanes[J]) handOff(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue[key]) == 0 {
		delete(l.queue, key)
		l.wg.Done()
		return
	}
	go l.drain(key) // takes over the wait group count
}

// pending returns the number of queued and running jobs.
func (l *lanes[J]) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, q := range l.queue {
		n += len(q) + 1 // +1: the job being run was already popped
	}
	return n
}

// wait blocks until every lane is empty.
func (l *lanes[J]) wait() { l.wg.Wait() }
