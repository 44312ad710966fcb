package flows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
)

// talk runs texts (a "tap:VALUE" presses a button) through e from a new
// conversation and returns the texts said and the error events of the last
// message.
func talk(t *testing.T, e *flows.Engine, msgs ...string) (said, errs []string) {
	t.Helper()
	var st flows.State
	for i, m := range msgs {
		in := flows.Input{Text: m, Now: time.Date(2026, 1, 5, 10, i, 0, 0, time.UTC), Channel: "web"}
		if v, ok := strings.CutPrefix(m, "tap:"); ok {
			in.Text, in.Payload = v, v
		}
		var out []flows.Output
		var err error
		st, out, err = e.Step(context.Background(), st, in)
		if err != nil {
			t.Fatalf("message %d %q: %v", i, m, err)
		}
		said, errs = nil, nil
		for _, o := range out {
			switch {
			case o.Kind == flows.Say:
				said = append(said, o.Text)
			case o.Kind == flows.Event && o.Event.Name == "error":
				errs = append(errs, o.Event.Data["error"])
			}
		}
	}
	return said, errs
}

// TestSettingsOverride points the demo's orders_api at a local endpoint,
// as the runtime does, and checks that the override, the allowed hosts
// and the project's other settings work together.
func TestSettingsOverride(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ready","eta":"сегодня"}`)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := loadDemo(t)
	overrides := map[string]any{"orders_api": srv.URL + "/demo-api", "hours_ru": "круглосуточно"}
	e := p.NewEngine(flows.Options{
		HTTP:         srv.Client(),
		Settings:     overrides,
		AllowedHosts: []string{u.Hostname()},
	})
	// The engine keeps its own copy: a later change of the caller's map
	// does not reach it.
	overrides["orders_api"] = "https://elsewhere.example.com"

	said, errs := talk(t, e, "привет", "tap:order_status", "1234567")
	if len(errs) > 0 {
		t.Fatalf("error events: %v", errs)
	}
	want := []string{"Заказ №1234567: ждёт вас в пункте выдачи. Ожидаемая дата доставки: сегодня.", "Могу ещё чем-то помочь?"}
	if diff := cmp.Diff(want, said); diff != "" {
		t.Errorf("order lookup through the overridden endpoint (-want +got):\n%s", diff)
	}
	mu.Lock()
	if diff := cmp.Diff([]string{"/demo-api/orders/1234567"}, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	mu.Unlock()

	// An overridden setting read by a template; the others keep the
	// project's values.
	said, _ = talk(t, e, "привет", "часы работы поддержки")
	if len(said) == 0 || !strings.Contains(said[0], "Операторы работают круглосуточно") {
		t.Errorf("hours answer with hours_ru overridden: %q", said)
	}
	said, _ = talk(t, e, "hello", "what are your opening hours")
	if len(said) == 0 || !strings.Contains(said[0], "daily from 9 am to 9 pm Moscow time") {
		t.Errorf("hours answer in English (hours_en not overridden): %q", said)
	}

	// Another engine of the same project sees the project's own settings.
	plain := p.NewEngine(flows.Options{})
	said, _ = talk(t, plain, "привет", "часы работы поддержки")
	if len(said) == 0 || !strings.Contains(said[0], "ежедневно с 9:00 до 21:00") {
		t.Errorf("an engine without overrides: %q", said)
	}
}

// TestSettingsOverrideNeedsAllowedHost: pointing a URL elsewhere does not
// widen the allowed hosts by itself; the call fails to on_error with a
// message naming the host.
func TestSettingsOverrideNeedsAllowedHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s", r.URL)
	}))
	defer srv.Close()
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{HTTP: srv.Client(), Settings: map[string]any{"orders_api": srv.URL}})
	said, errs := talk(t, e, "привет", "tap:order_status", "1234567")
	if len(errs) != 1 || !strings.Contains(errs[0], flows.ErrHostNotAllowed.Error()) || !strings.Contains(errs[0], "127.0.0.1") {
		t.Errorf("error events = %q, want one naming host 127.0.0.1 as not allowed", errs)
	}
	if len(said) == 0 || !strings.Contains(said[0], "сервис недоступен") {
		t.Errorf("said %q, want the lookup_failed message", said)
	}
}

// TestFilesKeep: parley.yaml files: keep: takes days or a Go duration;
// anything else is a load error at its position.
func TestFilesKeep(t *testing.T) {
	for _, tc := range []struct {
		keep string
		want time.Duration
		err  string
	}{
		{"90d", 90 * 24 * time.Hour, ""},
		{"720h", 720 * time.Hour, ""},
		{"soon", 0, `files.keep: want how long files are kept, such as 90d or 720h; found "soon"`},
		{"-3d", 0, "files.keep: want how long"},
	} {
		p, err := flows.LoadFS(fstest.MapFS{
			"parley.yaml":     {Data: []byte("name: k\nstart: main\nfiles: {keep: " + tc.keep + "}\n")},
			"flows/main.yaml": {Data: []byte("flow: main\nstart: a\nnodes:\n  a:\n    say: hi\n")},
		})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("keep %q: error %v, want %q", tc.keep, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("keep %q: %v", tc.keep, err)
		}
		if got, ok := p.FilesKeep(); !ok || got != tc.want {
			t.Errorf("keep %q = %v, %v; want %v", tc.keep, got, ok, tc.want)
		}
	}
}
