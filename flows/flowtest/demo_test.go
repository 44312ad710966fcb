package flowtest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/flows/flowtest"
)

// TestDemo runs the demo project's own conversation tests.
func TestDemo(t *testing.T) {
	p, err := flows.LoadFS(demo.FS())
	if err != nil {
		t.Fatalf("demo project does not load:\n%v", err)
	}
	files, err := flowtest.Load(demo.FS())
	if err != nil {
		t.Fatalf("demo tests do not load:\n%v", err)
	}
	rep := flowtest.Run(context.Background(), p, files, flowtest.Options{})
	var out bytes.Buffer
	rep.Write(&out, true)
	if rep.Failed() > 0 || len(rep.Results) < 10 {
		t.Fatalf("demo conversation tests:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

// TestDemoSuites runs the demo project's suites and holds them to the
// figures each requires.
func TestDemoSuites(t *testing.T) {
	p, err := flows.LoadFS(demo.FS())
	if err != nil {
		t.Fatalf("demo project does not load:\n%v", err)
	}
	_, suites, err := flowtest.LoadAll(demo.FS())
	if err != nil {
		t.Fatalf("demo suites do not load:\n%v", err)
	}
	if err := flowtest.CheckSuites(p, suites); err != nil {
		t.Fatalf("demo suites expect what the demo lacks:\n%v", err)
	}
	if len(suites) == 0 {
		t.Skip("the demo has no suite yet")
	}
	for _, s := range suites {
		rep := flowtest.RunSuite(context.Background(), p, s, flowtest.Options{})
		var out bytes.Buffer
		rep.Write(&out)
		if !rep.OK() {
			t.Errorf("demo suite %s misses what it requires:\n%s", s.File, out.String())
			continue
		}
		t.Logf("%s: accuracy %.1f%%, complaint recall %.1f%%, needless handoffs %.1f%%",
			s.File, 100*rep.Accuracy, 100*rep.ComplaintRecall, 100*rep.NeedlessHandoffs)
	}
}
