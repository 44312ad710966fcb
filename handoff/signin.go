package handoff

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sign-in costs a bcrypt comparison (cost 12: about a quarter second of one
// core), also for a name that does not exist, so that timing reveals no
// names. Unauthenticated requests must therefore not be able to buy that
// work without limit. Three guards run before any hashing, cheapest first:
//
//  1. per client address, whatever the name (a stream of new names);
//  2. per client address and account (guessing one agent's password); the
//     name is normalised as sign-in does, so " Anna" is "anna";
//  3. a global cap on hashes running at once: a request waits HashWait for
//     a slot, then gets 503 with Retry-After instead of queueing up.

// normName is the account a typed name signs in to: sign-in, the
// throttle and the store's name index all agree on it.
func normName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// signinMetrics are the sign-in guards' Prometheus collectors. They always
// exist (tests read them); New registers them when Config.Metrics is set.
type signinMetrics struct {
	refused *prometheus.CounterVec // reason: address, account, busy
	failed  prometheus.Counter
	hashing prometheus.Gauge
}

func newSigninMetrics() *signinMetrics {
	return &signinMetrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_signin_refused_total",
			Help: "Console sign-ins and password changes refused before hashing, per reason (address, account, busy).",
		}, []string{"reason"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_signin_failed_total", Help: "Console sign-ins with a wrong name or password.",
		}),
		hashing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_password_hashing", Help: "Password hashes (bcrypt) running now.",
		}),
	}
}

func (m *signinMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.refused, m.failed, m.hashing} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// hashSlots caps the password hashes running at once.
type hashSlots struct {
	ch    chan struct{}
	wait  time.Duration
	gauge prometheus.Gauge
}

func newHashSlots(n int, wait time.Duration, gauge prometheus.Gauge) *hashSlots {
	return &hashSlots{ch: make(chan struct{}, n), wait: wait, gauge: gauge}
}

// acquire takes a slot, waiting at most the configured wait (or until ctx
// ends), and returns the function that gives it back.
func (h *hashSlots) acquire(ctx context.Context) (release func(), ok bool) {
	select {
	case h.ch <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.ch <- struct{}{}:
		case <-t.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
	h.gauge.Inc()
	return func() { h.gauge.Dec(); <-h.ch }, true
}

// signinGate runs the guards for a sign-in (or a password change) of name
// from the request's address. When it refuses, it has answered (429 or
// 503 with Retry-After) and returns ok false; otherwise the caller must
// call release once its hashing is done.
func (s *Service) signinGate(w http.ResponseWriter, r *http.Request, name string) (release func(), ok bool) {
	ip := s.clientIP(r)
	if ok, wait := s.addrLimit.allow(ip); !ok {
		s.metrics.refused.WithLabelValues("address").Inc()
		tooMany(w, wait, "too many sign-in attempts from this address; try again later")
		return nil, false
	}
	if ok, wait := s.logins.allow(ip + "\x00" + clip(normName(name), 64)); !ok {
		s.metrics.refused.WithLabelValues("account").Inc()
		tooMany(w, wait, "too many attempts; try again later")
		return nil, false
	}
	release, ok = s.hashing.acquire(r.Context())
	if !ok {
		s.metrics.refused.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, "sign-in is busy; try again in a second")
		return nil, false
	}
	return release, true
}

func tooMany(w http.ResponseWriter, wait time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeErr(w, http.StatusTooManyRequests, msg)
}
