package eval_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

func TestDigits(t *testing.T) {
	for _, tc := range []struct {
		s      string
		lo, hi int
		want   string
	}{
		{"где мой заказ 5550123?", 6, 10, "5550123"},
		{"Где мой заказ №5550123", 6, 10, "5550123"},
		{"заказ 555-01-23", 6, 10, "5550123"},
		{"заказ 555 01 23, спасибо", 6, 10, "5550123"},
		{"заказ 555-01-23", 8, 10, ""},                   // seven digits do not fit
		{"заказ5550123", 6, 10, ""},                      // part of a word
		{"заказ 55501234567890", 6, 10, ""},              // a longer digit run
		{"заказ 12 шт, номер 5550123", 6, 10, "5550123"}, // the first that fits
		{"5550123 2 шт", 6, 10, "5550123"},               // a long group stands by itself
		{"цена 12.5, заказ 1234567", 6, 10, "1234567"},
		{"цена 1234567.5", 6, 10, ""}, // a decimal number
		{"abc", 1, 5, ""},
		{"", 1, 5, ""},
		{"код 12--34", 4, 4, ""}, // two dashes split
		{"код 12 34", 4, 4, "1234"},
		{"x_123", 3, 3, ""},
	} {
		if got := eval.Digits(tc.s, tc.lo, tc.hi); got != tc.want {
			t.Errorf("Digits(%q, %d, %d) = %q, want %q", tc.s, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want []float64
	}{
		{"2,5 кг и 2.5 кг", []float64{2.5, 2.5}},
		{"1 500 руб", []float64{1, 500}},
		{"1.234.567", []float64{1234567}},
		{"1,2,3", []float64{1, 2, 3}},
		{"от -3 до 7", []float64{-3, 7}},
		{"555-01-23", []float64{555, 1, 23}},
		{"iPhone 15, 2 шт.", []float64{15, 2}},
		{"нет чисел", []float64{}},
		{"12.", []float64{12}},
	} {
		if diff := cmp.Diff(tc.want, eval.Numbers(tc.s)); diff != "" {
			t.Errorf("Numbers(%q) (-want +got):\n%s", tc.s, diff)
		}
	}
	if n := len(eval.Numbers(strings.Repeat("1 ", 10000))); n != 100 {
		t.Errorf("Numbers of 10000 numbers gave %d, want the limit 100", n)
	}
}

func TestEmailPhone(t *testing.T) {
	for _, tc := range []struct{ s, email, phone string }{
		{"пишите на anna.k+shop@mail.ru.", "anna.k+shop@mail.ru", ""},
		{"мой номер 8 (912) 345-67-89", "", "+79123456789"},
		{"+7 912 345 67 89, почта a@b.co", "a@b.co", "+79123456789"},
		{"звоните 79123456789", "", "+79123456789"},
		{"call +44 20 7946 0958 please", "", "+442079460958"},
		{"номер 912 345 67 89", "", "9123456789"},
		{"заказ 5550123", "", ""},
		{"заказ5550123456", "", ""},
		{"письмо на почта@пример.рф", "почта@пример.рф", ""},
		{"не адрес: @mail.ru, a@b", "", ""},
	} {
		if got := eval.Email(tc.s); got != tc.email {
			t.Errorf("Email(%q) = %q, want %q", tc.s, got, tc.email)
		}
		if got := eval.Phone(tc.s); got != tc.phone {
			t.Errorf("Phone(%q) = %q, want %q", tc.s, got, tc.phone)
		}
	}
}

func TestFind(t *testing.T) {
	re := regexp.MustCompile(`заказ\D*(\d+)`)
	if got := eval.Find("где мой заказ № 5550123?", re); got != "5550123" {
		t.Errorf("Find with a group = %q", got)
	}
	if got := eval.Find("abc 12 x 34", regexp.MustCompile(`\d+`)); got != "12" {
		t.Errorf("Find without a group = %q", got)
	}
	if got := eval.Find("abc", re); got != "" {
		t.Errorf("Find without a match = %q", got)
	}
	if got := eval.FindAll("a1 b22 c333", regexp.MustCompile(`[a-z](\d+)`)); !cmp.Equal(got, []string{"1", "22", "333"}) {
		t.Errorf("FindAll = %q", got)
	}
	if got := eval.FindAll("abc", re); got == nil || len(got) != 0 {
		t.Errorf("FindAll without a match = %#v, want an empty list", got)
	}
}

// TestExtractExpressions runs the functions from expressions, as flows
// write them, through the VM and the closures alike.
func TestExtractExpressions(t *testing.T) {
	env := &eval.Env{
		Text: "Где мой заказ 5550123? Пишите на a@b.ru или 8 912 345-67-89",
		Vars: map[string]any{"pat": `(\d{3})`, "bad": "([", "n": 7.0, "long": strings.Repeat("a", 1005)},
	}
	for _, tc := range []struct {
		src  string
		want any
		err  string
	}{
		{`find(text, "заказ (\\d+)")`, "5550123", ""},
		{`find(text, "\\d+")`, "5550123", ""},
		{`find(text, "нет такого")`, "", ""},
		{`find_all(text, "\\d{3}")`, []string{"555", "012", "912", "345"}, ""},
		{`numbers("2,5 и 3")`, []float64{2.5, 3}, ""},
		{`digits(text, 6, 10)`, "5550123", ""},
		{`digits(text, 6, 10) != "" ? "есть" : "нет"`, "есть", ""},
		{`email(text)`, "a@b.ru", ""},
		{`phone(text)`, "+79123456789", ""},
		{`find(text, vars.pat)`, "555", ""},
		{`find(text, vars.bad)`, nil, "find: pattern \"([\": missing closing ]: `[`"},
		{`find(text, vars.long)`, nil, "find: pattern of 1005 bytes is over the 1000-byte limit"},
		{`digits(text, vars.n > 5 ? 0 : 1, 3)`, nil, "digits: want 1 <= min <= max <= 32, got min 0, max 3"},
	} {
		r := &syntax.Reporter{}
		p := (&eval.Compiler{R: r}).Value(str(tc.src), "x")
		if r.Len() > 0 {
			t.Fatalf("%s: %v", tc.src, r.List)
		}
		got, err := p.Eval(eval.NewVM(), env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.src, diff)
		}
	}
}

// TestExtractLoadErrors: a literal pattern is compiled at load and a bad
// one is an error at the literal; wrong argument types are load errors.
func TestExtractLoadErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`find(text, "([")`, "f.yaml:4:21: x: find: invalid pattern \"([\": missing closing ]: `[`"},
		{`len(find_all(text, "a**"))`, "f.yaml:4:29: x: find_all: invalid pattern \"a**\": invalid nested repetition operator: `**`"},
		{`find(text)`, "f.yaml:4:10: x: not enough arguments to call find"},
		{`digits(text, "6", 10)`, "f.yaml:4:23: x: cannot use string as argument (type int) to call digits"},
		{`numbers(fallbacks)`, "f.yaml:4:18: x: cannot use int as argument (type string) to call numbers"},
	} {
		r := &syntax.Reporter{}
		(&eval.Compiler{R: r}).Value(str(tc.src), "x")
		if r.Len() == 0 {
			t.Errorf("%s: no error", tc.src)
			continue
		}
		if got := r.List[0].Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

// TestPatternsConcurrent runs built patterns from many goroutines past
// the cache's bound (run with -race).
func TestPatternsConcurrent(t *testing.T) {
	r := &syntax.Reporter{}
	p := (&eval.Compiler{R: r}).Value(str(`find(text, vars.pat)`), "x")
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			m := eval.NewVM()
			var err error
			for i := range 200 {
				env := &eval.Env{Text: "a1 b22", Vars: map[string]any{"pat": fmt.Sprintf(`(\d)[a-z]{0,%d}`, g*200+i+1)}}
				v, e := p.Eval(m, env)
				if e != nil || v != "1" {
					err = fmt.Errorf("got %v, %v", v, e)
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkExtract measures the functions as a flow runs them: closures
// for string results with literal patterns, the VM for lists.
func BenchmarkExtract(b *testing.B) {
	env := &eval.Env{Text: "Здравствуйте! Где мой заказ 555-01-23? Телефон 8 (912) 345-67-89, почта anna@mail.ru"}
	for _, src := range []string{`digits(text, 6, 10)`, `find(text, "заказ\\D*(\\d+)")`, `phone(text)`, `email(text)`, `find_all(text, "\\d+")`, `numbers(text)`} {
		r := &syntax.Reporter{}
		p := (&eval.Compiler{R: r}).Value(str(src), "x")
		if r.Len() > 0 {
			b.Fatal(r.List)
		}
		m := eval.NewVM()
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Eval(m, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
