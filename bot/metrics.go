package bot

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the runtime's Prometheus collectors. A nil *metrics records
// nothing, so tests and the terminal chat need no registry.
type metrics struct {
	in         *prometheus.CounterVec
	out        *prometheus.CounterVec
	dup        *prometheus.CounterVec
	sendErrors *prometheus.CounterVec
	turn       prometheus.Histogram
	triggers   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, depth func() float64) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_in_total", Help: "Inbound customer messages accepted, per channel.",
		}, []string{"channel"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_out_total", Help: "Outbound messages the channel accepted, per channel.",
		}, []string{"channel"}),
		dup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_duplicate_total", Help: "Redelivered inbound events dropped by dedupe, per channel.",
		}, []string{"channel"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_send_errors_total", Help: "Failed send attempts, per channel and kind (retry_after, temporary, permanent).",
		}, []string{"channel", "kind"}),
		turn: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_turn_seconds",
			Help:    "Time from taking an inbound message off the inbox to its turn being committed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_triggers_total", Help: "Triggers of the outbound API as their turn ran, per outcome (started, parked, dropped, failed).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.in, m.out, m.dup, m.sendErrors, m.turn, m.triggers,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_outbox_depth", Help: "Replies waiting in the outbox.",
		}, depth))
	return m
}

func (m *metrics) inbound(ch string) {
	if m != nil {
		m.in.WithLabelValues(ch).Inc()
	}
}

func (m *metrics) duplicate(ch string) {
	if m != nil {
		m.dup.WithLabelValues(ch).Inc()
	}
}

func (m *metrics) sent(ch string) {
	if m != nil {
		m.out.WithLabelValues(ch).Inc()
	}
}

func (m *metrics) sendError(ch, kind string) {
	if m != nil {
		m.sendErrors.WithLabelValues(ch, kind).Inc()
	}
}

func (m *metrics) turnSeconds(s float64) {
	if m != nil {
		m.turn.Observe(s)
	}
}

func (m *metrics) trigger(outcome string) {
	if m != nil {
		m.triggers.WithLabelValues(outcome).Inc()
	}
}
