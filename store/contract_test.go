package store_test

import (
	"testing"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// TestContract runs the store contract shared with store/postgres against
// bbolt.
func TestContract(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, cfg storetest.Config) storetest.Backend {
		return storetest.OpenWith(t, store.Options{Clock: cfg.Clock, DedupeRetention: cfg.DedupeRetention, NoSync: true})
	})
}
