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
