package flows_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows"
)

// checkEncode holds MarshalState to json.Marshal: the same bytes, or both
// failing with the same message.
func checkEncode(t *testing.T, st flows.State) {
	t.Helper()
	want, wantErr := json.Marshal(st)
	got, err := flows.MarshalState(st)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("MarshalState error %v, encoding/json %v", err, wantErr)
	}
	if string(got) != string(want) {
		t.Fatalf("MarshalState:\n got %s\nwant %s", got, want)
	}
}

// checkDecode holds both the fast path and UnmarshalState to json.Unmarshal.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var want flows.State
	wantErr := json.Unmarshal(data, &want)
	fast, ok := flows.DecodeStateFast(data)
	if ok != (wantErr == nil) {
		t.Fatalf("fast decoder ok=%v, encoding/json error %v, on %q", ok, wantErr, data)
	}
	if ok && !reflect.DeepEqual(fast, want) {
		t.Fatalf("fast decoder on %q:\n got %#v\nwant %#v", data, fast, want)
	}
	got, err := flows.UnmarshalState(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("UnmarshalState error %v, encoding/json %v, on %q", err, wantErr, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalState on %q:\n got %#v\nwant %#v", data, got, want)
	}
}

type textish struct{ A, B int }

type namedMap map[string]any

func TestMarshalStateMatchesJSON(t *testing.T) {
	self := map[string]any{}
	self["self"] = self
	deep := any("leaf")
	for range 200 {
		deep = []any{map[string]any{"d": deep}}
	}
	for name, st := range map[string]flows.State{
		"zero":    {},
		"demo":    benchState,
		"counts":  {Retries: -3, Fallbacks: 1 << 40, Turns: math.MaxInt, Deadline: math.MinInt64, Ended: true, InHandoff: true, Resume: "main.menu"},
		"stack":   {Flow: "order", Node: "ask", Stack: []flows.Frame{{Flow: "main", Node: "x"}, {}}},
		"empties": {Stack: []flows.Frame{}, Buttons: []flows.Button{}, Vars: map[string]any{}},
		"escapes": {Flow: "a\"b\\c/<d>&e\u2028\u2029\x00\x1f\x7f\b\f\n\r\t", Node: "bad \xff\xfe utf8 \xed\xa0\x80", Lang: "ёж😀",
			Buttons: []flows.Button{{Text: "<b>", Value: "&amp;"}}},
		"numbers": {Vars: map[string]any{"a": 0.0, "b": math.Copysign(0, -1), "c": 1e21, "d": 1e20, "e": 1e-6, "f": 1e-7,
			"g": 123456789.0, "h": 0.1, "i": 5e-324, "j": math.MaxFloat64, "k": -2.5e-9, "l": 1.5e300, "m": 100.0}},
		"json types": {Vars: map[string]any{"s": "x", "t": true, "f": false, "n": nil, "list": []any{1.0, "two", nil, []any{}, map[string]any{}},
			"obj": map[string]any{"z": 1.0, "a": map[string]any{"<": ">"}, "ä": "b", "A": "c"}, "nilmap": map[string]any(nil), "nilslice": []any(nil)}},
		"go types": {Vars: map[string]any{"int": 42, "int64": int64(-7), "strs": []string{"a", "<"}, "nostrs": []string(nil),
			"float32": float32(0.1), "uint8": uint8(3), "time": time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
			"map": map[string]string{"b": "1", "a": "2"}, "struct": textish{1, 2}, "ptr": (*int)(nil), "number": json.Number("12.50"),
			"raw": json.RawMessage(` { "a" : [1, 2] } `), "named": namedMap{"k": "v"}}},
		"deep":        {Vars: map[string]any{"deep": deep}},
		"nan":         {Vars: map[string]any{"x": math.NaN()}},
		"inf deep":    {Vars: map[string]any{"x": []any{map[string]any{"y": math.Inf(-1)}}}},
		"chan":        {Vars: map[string]any{"c": make(chan int)}},
		"cycle":       {Vars: map[string]any{"c": self}},
		"many keys":   {Vars: manyVars(40)},
		"unicode key": {Vars: map[string]any{"ключ": "значение", "k\u2028": 1.0, "a&b": 2.0}},
	} {
		t.Run(name, func(t *testing.T) { checkEncode(t, st) })
	}
}

func manyVars(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('0'+i/26))] = float64(i)
	}
	return m
}

func TestAppendState(t *testing.T) {
	prefix := []byte("session=")
	got, err := flows.AppendState(prefix, benchState)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(benchState)
	if string(got) != "session="+string(want) {
		t.Fatalf("AppendState = %s", got)
	}
	bad := flows.State{Flow: "f", Vars: map[string]any{"x": math.Inf(1)}}
	if got, err := flows.AppendState(prefix, bad); err == nil || string(got) != "session=" {
		t.Fatalf("AppendState of +Inf = %q, %v; want the prefix and an error", got, err)
	}
}

func TestUnmarshalStateMatchesJSON(t *testing.T) {
	demo, _ := json.Marshal(benchState)
	for _, in := range []string{
		string(demo),
		`{}`, ` { } `, "\t\r\n{\"flow\":\"a\"}\n", `null`, ` null `,
		// Not a State at all, or not JSON.
		``, ` `, `nul`, `nullx`, `[]`, `"x"`, `1`, `true`, `{`, `{"flow"}`, `{"flow":}`, `{"flow":"a",}`, `{,}`,
		`{"flow":"a"}x`, `{"flow":"a"}{}`, `{'flow':'a'}`, `{"flow":"a" "node":"b"}`, "\ufeff{}",
		// Wrong types for known fields.
		`{"flow":1}`, `{"waiting":"true"}`, `{"waiting":1}`, `{"retries":1.0}`, `{"retries":1e2}`, `{"retries":"1"}`,
		`{"turns":9223372036854775808}`, `{"deadline":-9223372036854775808}`, `{"retries":-0}`, `{"stack":{}}`,
		`{"stack":[1]}`, `{"stack":[{"flow":true}]}`, `{"vars":[]}`, `{"vars":"x"}`, `{"buttons":"x"}`, `{"buttons":[[]]}`,
		`{"vars":{"big":1e400}}`, `{"vars":{"tiny":1e-400}}`, `{"unknown":1e400}`, `{"retries":true}`,
		// Nulls: no-ops for scalars, clearing slices and maps.
		`{"flow":"a","flow":null,"waiting":true,"waiting":null,"turns":3,"turns":null}`,
		`{"stack":null}`, `{"vars":null}`, `{"buttons":[null,{"text":"a"},null]}`, `{"vars":{"a":null}}`,
		// Duplicates merge as encoding/json does.
		`{"flow":"a","flow":"b"}`,
		`{"vars":{"a":1},"vars":{"b":2}}`, `{"vars":{"a":1},"vars":null,"vars":{"b":2}}`,
		`{"buttons":[{"text":"a","value":"b"},{"text":"c","value":"d"}],"buttons":[{"text":"x"}]}`,
		`{"buttons":[{"text":"a","value":"b"},{"text":"c","value":"d"}],"buttons":[{"text":"x"}],"buttons":[{},null]}`,
		`{"buttons":[{"text":"a"},{"text":"b"}],"buttons":[],"buttons":[{},{}]}`,
		`{"stack":[{"flow":"a","node":"b"}],"stack":[{"node":"c"},{"flow":"d"}],"stack":[null,null,null]}`,
		// Keys match case-insensitively (Unicode simple folding), exact first.
		`{"FLOW":"a","Node":"b","In_Handoff":true,"ſtack":[{"FLOW":"x","NoDe":"y"}],"BUTTONS":[{"TEXT":"t","vAlUe":"v"}]}`,
		`{"flow":"a","Flow":"b"}`, `{"Flow":"b","flow":"a"}`, `{"\u212Aey":1,"lang":"en","LANG":"ru"}`,
		`{"fl\u006fw":"esc","\u0066low":"x"}`, `{"in_handof\u0066":true}`, `{"ſ":1,"K":2}`,
		// Strings: escapes, surrogates, bad UTF-8, control characters.
		`{"flow":"a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\u2028"}`,
		`{"flow":"\ud83d\ude00","node":"\ud83d","lang":"\ude00x","resume":"\ud83d\u0041","version":"\ud83d\ud83d\ude00"}`,
		`{"flow":"\ud83d\n"}`, `{"flow":"\uD83D\uDE00\uFFFD"}`,
		"{\"flow\":\"\xff\xfe\",\"node\":\"ok\xed\xa0\x80\",\"lang\":\"ё\xd1\"}",
		"{\"flow\":\"a\x01\"}", "{\"flow\":\"a\x7f\"}", `{"flow":"\x"}`, `{"flow":"\'"}`, `{"flow":"\u12"}`, `{"flow":"\u12g4"}`,
		`{"flow":"abc`, `{"flow":"abc\`, `{"flow":"\u`,
		"{\"vars\":{\"\xff\":\"\\ud800\"}}",
		// Numbers in JSON's grammar only.
		`{"vars":{"a":-0,"b":0.5,"c":-1.5e+3,"d":1E-2,"e":123456789012345678901234567890}}`,
		`{"vars":{"a":01}}`, `{"vars":{"a":.5}}`, `{"vars":{"a":1.}}`, `{"vars":{"a":1e}}`, `{"vars":{"a":+1}}`,
		`{"vars":{"a":-}}`, `{"vars":{"a":0x10}}`, `{"vars":{"a":NaN}}`, `{"vars":{"a":Infinity}}`, `{"retries":-}`,
		// Values of every kind, unknown fields skipped but checked.
		`{"vars":{"x":[1,"a",true,false,null,{"k":[{}]},[]],"y":{},"x":2}}`,
		`{"other":{"a":[1,{"b":null}]},"flow":"f","more":"\u0041","n":-1.5e3,"t":true}`,
		`{"other":{"a":[1,{"b":nul}]}}`, `{"other":[1 2]}`, `{"other":{"a" 1}}`, `{"other":tru}`, `{"other":"\q"}`,
	} {
		t.Run("", func(t *testing.T) { checkDecode(t, []byte(in)) })
	}
}

// TestUnmarshalStateNesting checks encoding/json's limit of 10000 nested
// arrays and objects, the State's own object included.
func TestUnmarshalStateNesting(t *testing.T) {
	for _, depth := range []int{9998, 9999, 10000} {
		for _, key := range []string{"vars", "other"} {
			open, close := `{"`+key+`":{"a":`+strings.Repeat("[", depth-2), strings.Repeat("]", depth-2)+"}}"
			checkDecode(t, []byte(open+"1"+close))
			checkDecode(t, []byte(open+"{}"+close))
		}
	}
}

// FuzzStateCodec holds the session codec to encoding/json. For any input
// the fast decoder must accept exactly what encoding/json accepts, with
// the same State, and UnmarshalState must give encoding/json's State and
// error. A decoded State (with some Go-typed variables added, as set nodes
// once stored them) must encode to encoding/json's bytes.
func FuzzStateCodec(f *testing.F) {
	demo, _ := json.Marshal(benchState)
	for _, s := range []string{
		string(demo),
		`{"flow":"order","node":"ask_number","version":"f5e707968221b6ca","stack":[{"flow":"main","node":"anything_else"}],"waiting":true,"retries":1,"fallbacks":1,"lang":"ru","turns":3}`,
		`{"flow":"main","node":"menu","version":"f5e707968221b6ca","vars":{"order":"7654321","order_eta":"7 января","order_found":true,"order_status":"in_transit"},"in_handoff":true,"resume":"main.anything_else","lang":"ru","buttons":[{"text":"Позвать человека","value":"human"}],"turns":14}`,
		`{"flow":"order","node":"wait","waiting":true,"deadline":1767607200,"ended":true,"vars":{"n":[1.5,-0,1e21,{"a":null}],"s":"<\u2028\ud83d\ude00>"}}`,
		`{"FLOW":"a","flow":"b","buttons":[{"text":"a"},{"value":"b"}],"buttons":[null],"ſtack":[],"x":[{}]}`,
		`null`, `{"retries":1.0}`, `{"vars":{"a":1e400}}`, `{"flow":"shipped","params":{"order":"A-1","total":2500,"x":[true,null]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		var st flows.State
		if json.Unmarshal(data, &st) != nil {
			return
		}
		checkEncode(t, st)
		if len(st.Vars) == 0 {
			return
		}
		for k, v := range st.Vars {
			switch x := v.(type) {
			case float64:
				if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
					st.Vars[k+"#int"], st.Vars[k+"#int64"] = int(x), int64(x)
				}
				st.Vars[k+"#float32"] = float32(x)
			case string:
				st.Vars[k+"#strings"] = []string{x, k}
			case map[string]any:
				st.Vars[k+"#map"] = map[string]any{"inner": x, "list": []any{x, v}}
			}
		}
		checkEncode(t, st)
	})
}
