package syntax

import "fmt"

// FAQ is the knowledge base file (faq.yaml): answered questions, intents
// that flows branch on, out-of-scope examples and synonyms.
type FAQ struct {
	File       string
	Entries    []*FAQEntry
	Intents    []*Intent
	OutOfScope *Examples
	Synonyms   [][]*Str
}

// FAQEntry is one question the bot answers by itself.
type FAQEntry struct {
	Path      string
	Pos       Pos
	ID        *Str
	Title     *Text
	Questions *Examples
	Answer    *Text
}

// Intent is a label flows branch on (`intent == "order_status"`).
type Intent struct {
	Path     string
	Pos      Pos
	ID       *Str
	Examples *Examples
}

// Examples are example phrases per language.
type Examples struct {
	Path  string
	Pos   Pos
	Langs map[string][]*Str
}

// ParseFAQ reads the knowledge base file.
func ParseFAQ(r *Reporter, file string, src []byte) *FAQ {
	q := &FAQ{File: file}
	v := ParseValue(r, file, src)
	if v == nil {
		return q
	}
	o := Object(r, v, "", "faq", "intents", "out_of_scope", "synonyms")
	for i, ev := range Seq(r, o.Get("faq"), "faq") {
		p := fmt.Sprintf("faq[%d]", i)
		eo := Object(r, ev, p, "id", "title", "questions", "answer")
		e := &FAQEntry{Path: p, Pos: ev.Pos, ID: eo.ReqStr("id")}
		if tv := eo.Get("title"); tv != nil {
			e.Title = ParseText(r, tv, eo.Sub("title"))
		}
		if qv := eo.Get("questions"); qv != nil {
			e.Questions = parseExamples(r, qv, eo.Sub("questions"))
		} else {
			r.Errorf(ev.Pos, p, "missing %q", "questions")
		}
		if av := eo.Get("answer"); av != nil {
			e.Answer = ParseText(r, av, eo.Sub("answer"))
		} else {
			r.Errorf(ev.Pos, p, "missing %q", "answer")
		}
		eo.Done()
		q.Entries = append(q.Entries, e)
	}
	for i, iv := range Seq(r, o.Get("intents"), "intents") {
		p := fmt.Sprintf("intents[%d]", i)
		io := Object(r, iv, p, "id", "examples")
		in := &Intent{Path: p, Pos: iv.Pos, ID: io.ReqStr("id")}
		if ev := io.Get("examples"); ev != nil {
			in.Examples = parseExamples(r, ev, io.Sub("examples"))
		} else {
			r.Errorf(iv.Pos, p, "missing %q", "examples")
		}
		io.Done()
		q.Intents = append(q.Intents, in)
	}
	if ov := o.Get("out_of_scope"); ov != nil {
		q.OutOfScope = parseExamples(r, ov, "out_of_scope")
	}
	for i, sv := range Seq(r, o.Get("synonyms"), "synonyms") {
		q.Synonyms = append(q.Synonyms, StrList(r, sv, fmt.Sprintf("synonyms[%d]", i)))
	}
	o.Done()
	return q
}

func parseExamples(r *Reporter, v *Value, path string) *Examples {
	ex := &Examples{Path: path, Pos: v.Pos, Langs: map[string][]*Str{}}
	o := Object(r, v, path)
	for _, f := range o.V.Map {
		o.Get(f.Key.Value)
		if !isLang(f.Key.Value) {
			r.Errorf(f.Key.Pos, join(path, f.Key.Value), "want a language code such as ru or en")
			continue
		}
		ex.Langs[f.Key.Value] = StrList(r, f.Val, join(path, f.Key.Value))
	}
	return ex
}
