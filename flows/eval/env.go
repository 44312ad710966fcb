// Package eval owns expressions and templates of the flow language: the
// typed environment every expression is compiled against, compilation with
// limits (source length, nesting, node count, memory budget), the rebasing
// of expr-lang's error positions onto the YAML file, and {{ }} templates.
// Customer text only ever enters as data in Env; it is never compiled.
package eval

import (
	"reflect"
	"slices"
	"time"

	"github.com/expr-lang/expr/builtin"
)

// Env is what an expression sees. Field tags are the names support leads
// write (`text`, `contact.fields.city`, `vars.order`). It has no methods on
// purpose: expr-lang makes every exported method callable.
type Env struct {
	// Text is the customer's message as typed; Norm is the same text
	// lower-cased with ё folded to е, punctuation dropped and spaces
	// collapsed, computed once per message.
	Text    string `expr:"text"`
	Norm    string `expr:"norm"`
	Payload string `expr:"payload"` // value of the pressed button, "" for typed text
	Channel string `expr:"channel"` // web, telegram or vk
	Lang    string `expr:"lang"`    // the conversation's language
	// Flow and Node are where the conversation is when the message arrives.
	Flow string `expr:"flow"`
	Node string `expr:"node"`

	Contact  Contact        `expr:"contact"`
	Vars     map[string]any `expr:"vars"`
	Settings map[string]any `expr:"settings"`
	// Params are the parameters of the trigger that started the
	// conversation (the outbound API), nil otherwise.
	Params map[string]any `expr:"params"`
	// Secret holds the project's secrets (parley.yaml secrets:, values
	// from the environment) only while an http node renders its url,
	// headers and body; the compiler refuses secret anywhere else, so a
	// secret never reaches a message, a variable or an event.
	Secret map[string]string `expr:"secret"`

	// Session counters: consecutive misunderstandings (input that matched no
	// branch or failed validation) and retries at the current question.
	Fallbacks int       `expr:"fallbacks"`
	Retries   int       `expr:"retries"`
	Now       time.Time `expr:"now"`
	// Hours are the support team's business hours at the message's time:
	// the human queue's, from the project's handoff: section, so a flow
	// and the queue never disagree (flows.Options.Hours).
	Hours Hours `expr:"hours"`

	// Understanding of the message (filled by the NLU when the project has
	// a knowledge base; zero otherwise).
	Intent         string   `expr:"intent"`
	IntentScore    float64  `expr:"intent_score"`
	FAQ            FAQ      `expr:"faq"`
	OutOfScope     bool     `expr:"out_of_scope"`
	Sentiment      float64  `expr:"sentiment"`
	Negative       bool     `expr:"negative"`
	HumanRequested bool     `expr:"human_requested"`
	Evidence       []string `expr:"evidence"`

	// Response is the answer of the http node being saved from.
	Response Response `expr:"response"`

	// Attachments are the files and pictures of the message (a photo of
	// the damaged parcel); Attachment is the first of them, or the zero
	// one (kind "") when the message has none.
	Attachments []Attachment `expr:"attachments"`
	Attachment  Attachment   `expr:"attachment"`
}

// Attachment is one file of the customer's message.
type Attachment struct {
	// Kind is "image" or "file" for a file Parley stored; a channel's own
	// kind ("sticker", "location", "contact", or "photo" when the file could
	// not be fetched) otherwise.
	Kind string `expr:"kind"`
	Name string `expr:"name"` // the file's name, "" when the channel gives none
	Type string `expr:"type"` // content type sniffed from the bytes ("image/jpeg"), "" if not stored
	Size int    `expr:"size"` // bytes, 0 if not stored
	// Ref is the reference an agent's console resolves ("parley:f_…"),
	// what an ask's save stores when the answer is only a file.
	Ref string `expr:"ref"`
}

// Contact is the customer as flows see them.
type Contact struct {
	ID     string            `expr:"id"`
	Name   string            `expr:"name"`
	Lang   string            `expr:"lang"`
	Fields map[string]string `expr:"fields"`
}

// Hours say whether the support team works now and, when not, when it
// is back.
type Hours struct {
	Open bool `expr:"open"`
	// OpensAt is when the team is back, in the hours' time zone; the zero
	// time while open or with no hours ahead.
	OpensAt time.Time `expr:"opens_at"`
}

// FAQ is the best knowledge-base entry for the message (also when the
// score is low: check out_of_scope and intent_score before answering).
type FAQ struct {
	ID     string  `expr:"id"`
	Title  string  `expr:"title"`  // short topic name, for "did you mean ...?"
	Answer string  `expr:"answer"` // rendered in the conversation's language
	Score  float64 `expr:"score"`
}

// Response is an HTTP answer: status code and the decoded JSON body.
type Response struct {
	Status int  `expr:"status"`
	OK     bool `expr:"ok"` // 2xx
	Body   any  `expr:"body"`
}

// structTypes are Env's structured fields by the name expressions use.
var structTypes = map[string]reflect.Type{
	"contact":    reflect.TypeFor[Contact](),
	"hours":      reflect.TypeFor[Hours](),
	"faq":        reflect.TypeFor[FAQ](),
	"response":   reflect.TypeFor[Response](),
	"attachment": reflect.TypeFor[Attachment](),
}

// EnvNames are the names of Env's fields (text, contact, vars, ...).
func EnvNames() []string { return tagNames(reflect.TypeFor[Env]()) }

// Names is every name an expression may start with: Env's fields, the
// functions of the flow language (find, digits, ...) and expr-lang's
// builtins (len, lower, ...). Lint suggests the closest for an unknown one.
func Names() []string {
	names := append(EnvNames(), FuncNames()...)
	for _, f := range builtin.Builtins {
		if !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	return names
}

// Fields is every name X of `NAME.X` for Env's structured fields, by NAME
// ("contact": id, name, lang, fields).
func Fields() map[string][]string {
	out := map[string][]string{}
	for name, t := range structTypes {
		out[name] = tagNames(t)
	}
	return out
}

// tagNames are the expr names of a struct's fields.
func tagNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if tag := f.Tag.Get("expr"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}
