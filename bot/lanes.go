package bot

import "sync"

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
