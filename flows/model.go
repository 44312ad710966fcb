package flows

import (
	"time"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// Project is a compiled, validated project. It is immutable and safe to
// share between goroutines; a reload builds a new one.
type Project struct {
	Name        string
	DefaultLang string
	Languages   []string
	StartFlow   string
	// Version is the content hash of every file of the project; sessions
	// record it to notice that flows changed under them.
	Version string
	// SafeNode is "flow.node" where a session whose node disappeared goes.
	SafeNode string
	// Warnings are problems that do not stop the project from running,
	// sorted: a text missing one of the project's languages (the default
	// language's text is said instead). `parley lint` prints them.
	Warnings ErrorList

	flows        map[string]*flow
	flowNames    []string // sorted
	triggers     []*trigger
	escalation   escalation
	settings     map[string]any
	allowedHosts []string
	secrets      []string // declared secret names (parley.yaml secrets:)
	safe         *node
	loc          *time.Location   // of `now`; UTC by default
	understand   *understanding   // nil without faq.yaml
	handoff      *HandoffSettings // nil without a handoff: section
	filesKeep    time.Duration    // files: keep:, 0 when not set
	// agentVars are the variables agents see (parley.yaml vars:), each
	// with its label by language; nil without the section: agents see all.
	agentVars map[string]map[string]string
}

// FilesKeep is how long the project keeps attachments (parley.yaml
// files: keep:), and whether it says at all.
func (p *Project) FilesKeep() (time.Duration, bool) { return p.filesKeep, p.filesKeep > 0 }

type kind uint8

const (
	kSay kind = iota
	kAsk
	kWait
	kSet
	kBranch
	kGoto
	kCall
	kHTTP
	kHandoff
	kEnd
	kLink
)

var kindNames = [...]string{"say", "ask", "wait", "set", "branch", "goto", "call", "http", "handoff", "end", "link"}

func (k kind) String() string { return kindNames[k] }

type flow struct {
	name  string
	file  string
	start *node
	safe  *node
	nodes map[string]*node
	order []*node // in file order
}

type node struct {
	id   string
	kind kind
	flow *flow
	path string

	say     *text
	buttons buttonList
	image   *eval.Template
	link    *eval.Template
	next    *node
	record  *record // an analytics event the flow writes here (record.go)

	validate   *eval.Program
	retry      *text
	maxRetries int // 0 = unlimited
	onFail     *node
	timeout    time.Duration
	onTimeout  *node
	save       string
	set        []assign
	cases      []branchCase
	els        *node

	target  *node // goto
	call    *flow
	http    *httpSpec
	onError *node
	handoff *handoffSpec
	// linkText is a link node's message (nil: the default text); its
	// slots are linkSlots.
	linkText *text
}

// ref is "flow.node" for events and states.
func (n *node) ref() string { return n.flow.name + "." + n.id }

type text struct {
	any   *eval.Template
	langs map[string]*eval.Template
}

// buttonList is a message's buttons. static holds, per language, the
// labels already rendered when none of them has a hole: a message copies
// that list instead of rendering label by label.
type buttonList struct {
	items  []button
	static map[string][]Button
}

type button struct {
	text  *text
	value string
}

type assign struct {
	contact bool // contact.<name>
	name    string
	prog    *eval.Program
}

type branchCase struct {
	cond   *eval.Program
	target *node
}

type httpSpec struct {
	method  string
	url     *eval.Template
	headers []headerTmpl
	body    *eval.JSON
	timeout time.Duration
	save    []assign
}

type headerTmpl struct {
	name string
	tmpl *eval.Template
}

type handoffSpec struct {
	reason   *eval.Template
	priority *eval.Template
	note     *eval.Template
}

type trigger struct {
	id            string
	cond          *eval.Program
	target        *node
	say           *text
	handoff       *handoffSpec
	reason        string // for built-in escalation triggers
	priority      int
	duringHandoff bool
	order         int
}

type escalation struct {
	notUnderstood *eval.Program // evaluated after each misunderstanding
	priority      string
}

// FlowNames lists the project's flows, sorted.
func (p *Project) FlowNames() []string { return append([]string(nil), p.flowNames...) }

// NodeIDs lists a flow's nodes in file order (nil for an unknown flow).
func (p *Project) NodeIDs(flowName string) []string {
	f := p.flows[flowName]
	if f == nil {
		return nil
	}
	ids := make([]string, len(f.order))
	for i, n := range f.order {
		ids[i] = n.id
	}
	return ids
}

// FlowFile is the file a flow was read from.
func (p *Project) FlowFile(flowName string) string {
	if f := p.flows[flowName]; f != nil {
		return f.file
	}
	return ""
}

// FAQIDs lists the ids of the knowledge base's FAQ entries, sorted (nil
// without faq.yaml).
func (p *Project) FAQIDs() []string {
	if p.understand == nil {
		return nil
	}
	return keys(p.understand.entries)
}

// HandoffSettings is the lead's part of the human queue, from the project
// file's `handoff:` section: business hours, CSAT, the customer's notices
// and canned replies. cmd maps it onto handoff.Config; what the section
// does not give (see the Set fields) comes from elsewhere (the server's
// settings file, for one release, or the built-in values).
type HandoffSettings struct {
	// HoursSet: the section gives time_zone, hours or holidays; the
	// project's business hours then replace the server's as a whole (no
	// hours = always open).
	HoursSet bool
	// TimeZone is handoff.time_zone, else the project's timezone; "" = UTC.
	TimeZone string
	Hours    []string
	Holidays []string
	// CSAT is nil when the section does not say.
	CSAT *bool
	// CSATAlways: `csat: always`, the rating question after every
	// resolved ticket, whatever outcome the agent picks (CSAT is true).
	CSATAlways bool
	// Texts are the notices by language, then key (HandoffNotices); nil
	// when the section has no texts. A language without a key gets the
	// built-in notice.
	Texts map[string]map[string]string
	// Canned are the prepared replies; CannedSet tells an empty list (no
	// canned replies) from an absent one.
	Canned    []CannedReply
	CannedSet bool
}

// CannedReply is a prepared reply an agent picks in the console; Lang,
// when set, offers it only in conversations in that language.
type CannedReply struct {
	ID, Title, Text, Lang string
}

// AgentVars returns the variables the project shows agents (its `vars:`
// section) with their labels by language (every project language has one:
// a label missing a language is the default language's); ok is false
// without the section, when agents see every variable under its own name.
// The maps are shared: read them only.
func (p *Project) AgentVars() (labels map[string]map[string]string, ok bool) {
	return p.agentVars, p.agentVars != nil
}

// HandoffNotice names one notice of the human queue and the placeholders
// the queue fills in it.
type HandoffNotice = syntax.HandoffNotice

// HandoffNotices lists every notice a project may word (`handoff.texts`),
// in the order docs/flows.md documents them.
var HandoffNotices = syntax.HandoffNotices

// Handoff returns the project's `handoff:` section; ok is false when the
// project has none. The maps and slices are shared: read them only.
func (p *Project) Handoff() (h HandoffSettings, ok bool) {
	if p.handoff == nil {
		return HandoffSettings{}, false
	}
	return *p.handoff, true
}
