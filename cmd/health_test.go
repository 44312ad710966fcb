package cmd

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	s, _ := startServer(t, nil)
	base := "http://" + s.addr
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	v := newVisitor(t, s.addr)
	v.say(t, "привет")
	v.waitFor(t, 0, "Чем помочь?")
	waitUntil(t, "the counters", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `parley_messages_in_total{channel="web"} 1`) &&
			strings.Contains(m, `parley_messages_out_total{channel="web"} 1`)
	})
	_, m := get(t, base+"/metrics")
	for _, want := range []string{"parley_turn_seconds_bucket", "parley_outbox_depth", "parley_queue_length", "parley_agents_online",
		"parley_password_hashing", "parley_signin_failed_total"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestDemoOrderLookupWorksOffline(t *testing.T) {
	// Faster than the web chat's per-visitor limit a person types at.
	s, _ := startServer(t, func(c *Config) { c.Web.RatePerSecond = 100 })
	v := newVisitor(t, s.addr)
	v.say(t, "привет")
	v.waitFor(t, 0, "Чем помочь?")
	n := v.count()
	v.say(t, "Где мой заказ?")
	v.waitFor(t, n, "номер заказа")
	n = v.count()
	v.say(t, "1234567")
	v.waitFor(t, n, "Заказ №1234567:")
	n = v.count()
	v.say(t, "меню")
	v.waitFor(t, n, "Чем помочь?")
	// The number is remembered: asked again, the bot looks it up at once.
	n = v.count()
	v.say(t, "Где мой заказ?")
	v.waitFor(t, n, "Заказ №1234567:")
	// A number in the message is taken from it.
	n = v.count()
	v.say(t, "а где заказ 9876543?")
	v.waitFor(t, n, "не нашёлся")
}
