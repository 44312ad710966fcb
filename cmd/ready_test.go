package cmd

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// /readyz is read by request goroutines while start-up and shutdown write
// the flag: with -race, a plain bool there is a reported data race.
func TestReadyFlagConcurrent(t *testing.T) {
	s := &server{}
	get := func() int {
		w := httptest.NewRecorder()
		s.readyz(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			s.ready.Store(i%2 == 1)
		}
	}()
	for range 200 {
		get()
	}
	<-done
	if code := get(); code != http.StatusOK {
		t.Errorf("/readyz after start = %d, want 200", code)
	}
	s.ready.Store(false)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while stopping = %d, want 503", code)
	}
}
