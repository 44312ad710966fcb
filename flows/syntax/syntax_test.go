package syntax_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows/syntax"
)

const flowSrc = `flow: main
start: hello
nodes:
  hello:
    say: "Привет"
    buttons:
      - {text: Да, value: "yes"}
      - Нет
    next: menu
  menu:
    wait: true
    branch:
      - if: |
          payload == "yes"
        goto: hello
    else: hello
`

func TestParseFlowPositions(t *testing.T) {
	r := &syntax.Reporter{}
	f := syntax.ParseFlow(r, "flows/main.yaml", []byte(flowSrc))
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	if len(f.Nodes) != 2 || f.Nodes[0].Kind != syntax.KindSay || f.Nodes[1].Kind != syntax.KindWait {
		t.Fatalf("nodes: %+v", f.Nodes)
	}
	hello := f.Nodes[0]
	got := []syntax.Pos{hello.ID.Pos, hello.Say.Any.Pos, hello.Buttons[0].Value.Pos, hello.Buttons[1].Value.Pos, f.Nodes[1].Branch[0].If.Pos}
	want := []syntax.Pos{{"flows/main.yaml", 4, 3}, {"flows/main.yaml", 5, 10}, {"flows/main.yaml", 7, 27}, {"flows/main.yaml", 8, 9}, {"flows/main.yaml", 13, 13}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("positions (-want +got):\n%s", diff)
	}
	if s := hello.Say.Any; s.Style != syntax.Quoted || s.At(0, 2) != (syntax.Pos{File: "flows/main.yaml", Line: 5, Col: 13}) {
		t.Errorf("quoted scalar: %+v, At(0,2)=%v", s, s.At(0, 2))
	}
	if s := f.Nodes[1].Branch[0].If; s.Style != syntax.Block || s.At(0, 0) != (syntax.Pos{File: "flows/main.yaml", Line: 14, Col: 11}) {
		t.Errorf("block scalar: %+v, At(0,0)=%v", s, s.At(0, 0))
	}
}

func TestUnknownFieldSuggestsAndSorts(t *testing.T) {
	r := &syntax.Reporter{}
	r.AddSource("f.yaml", nil)
	syntax.ParseFlow(r, "f.yaml", []byte("flow: m\nstart: a\nnodes:\n  a:\n    say: hi\n    nxt: a\n    buttns: [x]\n"))
	got := r.List.Err().Error()
	for _, want := range []string{
		`f.yaml:6:5: nodes.a.nxt: unknown field "nxt"; did you mean "next"?`,
		`f.yaml:7:5: nodes.a.buttns: unknown field "buttns"; did you mean "buttons"?`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Index(got, "6:5") > strings.Index(got, "7:5") {
		t.Errorf("errors not sorted:\n%s", got)
	}
}

func TestSnippetCaret(t *testing.T) {
	r := &syntax.Reporter{}
	r.AddSource("f.yaml", []byte("a: 1\nbb: кот\n"))
	r.Errorf(syntax.Pos{File: "f.yaml", Line: 2, Col: 5}, "bb", "bad")
	want := "f.yaml:2:5: bb: bad\n    | bb: кот\n    |     ^"
	if got := r.List[0].Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestByteOrderMarkAndCRLF(t *testing.T) {
	r := &syntax.Reporter{}
	src := "\xef\xbb\xbfflow: main\r\nstart: a\r\nnodes:\r\n  a:\r\n    say: hi\r\n    nxt: a\r\n"
	f := syntax.ParseFlow(r, "f.yaml", []byte(src))
	if f.Name == nil || f.Name.Value != "main" || f.Name.Pos.Col != 7 {
		t.Fatalf("name: %+v", f.Name)
	}
	if len(r.List) != 1 || r.List[0].Line != 6 || r.List[0].Col != 5 {
		t.Fatalf("want one error at 6:5, got %v", r.List)
	}
}

// TestAnchorsAndMerges writes a menu's buttons once and reuses them, and
// shares a node's common fields with a merge key; the key written next to
// the merge wins.
func TestAnchorsAndMerges(t *testing.T) {
	src := `flow: main
start: a
nodes:
  a:
    say: "Меню"
    buttons: &menu
      - Доставка
      - {text: Оплата, value: pay}
    next: b
  b: &asking
    ask: "Ещё?"
    buttons: *menu
    retry: "Выберите кнопку"
    next: a
  c:
    <<: *asking
    ask: "Что-то ещё?"
`
	r := &syntax.Reporter{}
	f := syntax.ParseFlow(r, "flows/main.yaml", []byte(src))
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	b, c := f.Nodes[1], f.Nodes[2]
	if len(b.Buttons) != 2 || b.Buttons[1].Value.Value != "pay" || b.Buttons[0].Value.Pos.Line != 7 {
		t.Errorf("aliased buttons: %+v", b.Buttons)
	}
	if c.Kind != syntax.KindAsk || c.Say.Any.Value != "Что-то ещё?" || len(c.Buttons) != 2 || c.Retry == nil || c.Next.Value != "a" {
		t.Errorf("merged node: kind %s say %+v buttons %d retry %v next %v", c.Kind, c.Say.Any, len(c.Buttons), c.Retry, c.Next)
	}
}

// TestAliasBomb: aliases of aliases that would expand to billions of
// values are refused with one error.
func TestAliasBomb(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g"} {
		src += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	r := &syntax.Reporter{}
	syntax.ParseValue(r, "bomb.yaml", []byte(src))
	if r.Len() != 1 || !strings.Contains(r.List[0].Msg, "aliases expand to more than") {
		t.Fatalf("want one expansion error, got %v", r.List)
	}
}
