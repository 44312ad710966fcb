package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A request is one caller's write, folded with others into a shared
// transaction by the writer goroutine.
type request struct {
	// fn may run more than once (when another request of its batch fails):
	// it must be deterministic and free of side effects outside tx.
	fn    func(tx *bolt.Tx) error
	state atomic.Int32
	err   error
	done  chan struct{}
}

const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

// errAbort rolls back a batch when one of its requests failed.
var errAbort = errors.New("store: batch aborted")

// write queues fn for the group-commit writer and waits until its batch is
// durable. A context cancelled before the writer took the request returns
// ctx.Err() and fn is never applied; once taken, write waits for the commit,
// so the result is never ambiguous.
func (db *DB) write(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan struct{})}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.queue <- r:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		<-r.done
		return r.err
	}
}

// writeLoop is the single writer: it blocks for one request, takes whatever
// else is already queued (requests pile up while the previous batch is
// fsyncing, so batches grow with load and no timer delays a lone write) and
// commits them in one transaction.
func (db *DB) writeLoop() {
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-db.queue:
			batch = append(batch[:0], r)
		case <-db.quit:
			// Close set db.closed before closing quit, so no send is in
			// flight: everything still queued is in the buffer.
			for {
				batch = batch[:0]
			drain:
				for len(batch) < maxBatch {
					select {
					case r := <-db.queue:
						batch = append(batch, r)
					default:
						break drain
					}
				}
				if len(batch) == 0 {
					return
				}
				db.commitBatch(batch)
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-db.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		batch = db.linger(batch)
		start := time.Now()
		db.commitBatch(batch)
		// Writers that queued during the commit plus those that were in it
		// estimate how many are active now.
		db.lastCommit, db.active = time.Since(start), len(batch)+len(db.queue)
	}
}

// linger waits a little for more requests when several writers are active.
// Without it the writers fall into groups that alternate (one commits while
// the other queues, down to a lone request followed by all the others), each
// group paying its own fsync. The estimate of active writers is the last
// batch plus what queued during its commit; the wait ends when that many
// requests are in hand, or after a quarter of the last commit's duration
// (half measured the same throughput within noise and a higher p99).
// A lone writer never waits.
func (db *DB) linger(batch []*request) []*request {
	target := min(db.active, maxBatch)
	wait := min(db.lastCommit/4, maxLinger)
	if len(batch) >= target || wait < 20*time.Microsecond {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < target {
		select {
		case r := <-db.queue:
			batch = append(batch, r)
		case <-t.C:
			return batch
		case <-db.quit:
			return batch
		}
	}
	return batch
}

// commitBatch runs the requests in order in one Update. When request i
// fails, the transaction is rolled back, request i gets its own error
// (after the others committed) and the rest are retried without it. Request i saw exactly the writes of the
// requests before it, which commit in the same order, so the outcome is
// serializable. A storage error (commit, fsync) goes to every request.
func (db *DB) commitBatch(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			live = append(live, r)
		}
	}
	db.writes.Add(uint64(len(live)))
	// A failed request learns its error only once the rest of its batch
	// committed: its failure may be caused by the writes before it (a
	// contact merged away), and a caller that reads again on an error must
	// see those writes, not the state before them.
	type failure struct {
		r   *request
		err error
	}
	var failures []failure
	defer func() {
		for _, f := range failures {
			finish(f.r, f.err)
		}
	}()
	for len(live) > 0 {
		failed, failErr := -1, error(nil)
		db.writeMu.Lock()
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i, r := range live {
				if err := runRequest(r, tx); err != nil {
					failed, failErr = i, err
					return errAbort
				}
			}
			return nil
		})
		db.writeMu.Unlock()
		if failed >= 0 && errors.Is(err, errAbort) {
			failures = append(failures, failure{live[failed], failErr})
			live = append(live[:failed:failed], live[failed+1:]...)
			continue
		}
		if err != nil {
			err = fmt.Errorf("store: commit: %w", err)
		} else {
			db.batches.Add(1)
		}
		for _, r := range live {
			finish(r, err)
		}
		return
	}
}

func runRequest(r *request, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in write: %v", p)
		}
	}()
	return r.fn(tx)
}

func finish(r *request, err error) {
	r.err = err
	close(r.done)
}
