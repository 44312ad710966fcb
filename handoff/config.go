package handoff

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/bot/channel"
)

// Config is what a deployment decides about the human queue. The zero value
// plus Defaults() is a working setup; cmd maps the config file onto it.
type Config struct {
	// Hours are the team's business hours; the zero Hours is "always open".
	Hours Hours
	// Texts are the customer-facing notices by language ("ru", "en");
	// missing languages and empty fields fall back to the built-in texts.
	Texts map[string]Texts
	// DefaultLang is used when the contact's language has no texts ("en").
	DefaultLang string
	// ReopenWindow: a customer who writes again within it after a ticket was
	// resolved with outcome "end" reopens that ticket (0 = 24h, <0 = never).
	ReopenWindow time.Duration
	// AutoAssign hands queued tickets round-robin to online agents with
	// spare capacity; without it agents claim from the queue.
	AutoAssign bool
	// Capacity is the number of assigned tickets an agent holds at most for
	// auto-assignment (0 = 5). Claims by hand are not limited.
	Capacity int
	// Files is the operator's policy on the files agents send (the same
	// as the customers'); zero: channel's defaults.
	Files channel.FilePolicy
	// Canned are the prepared replies offered in the console.
	Canned []Canned
	// BcryptCost for agent passwords (0 = 12; tests use bcrypt.MinCost).
	BcryptCost int
	// CSAT enables the "rate us 1-5" question as a resolve outcome.
	CSAT bool
	// CSATEvery asks the rating question after every resolved ticket,
	// whatever outcome the agent picks; the bot takes the conversation back
	// after the answer (Resolve). Needs CSAT.
	CSATEvery bool
	// VarLabels: LeadConfig.VarLabels.
	VarLabels map[string]map[string]string
	// SecureCookies marks session cookies Secure even when the request did
	// not arrive over TLS (TLS terminated by a proxy in front of parley),
	// and names them with the __Host- prefix, so a sibling subdomain or a
	// plain-HTTP page cannot set or shadow them.
	SecureCookies bool
	// ClientIP names the client of a request for the sign-in limits; nil
	// means the connection's address (behind a proxy: every client is the
	// proxy, so cmd passes one that reads X-Forwarded-For from trusted
	// proxies).
	ClientIP func(*http.Request) string
	// SessionTTL is how long an idle console session lives (0 = 12h).
	SessionTTL time.Duration
	// SessionMaxAge is how long a console session lives after sign-in
	// however active it is (0 = 7 days).
	SessionMaxAge time.Duration
	// OneTimeTTL is how long a generated one-time password opens its one
	// sign-in (0 = 24h).
	OneTimeTTL time.Duration
	// LoginEvery and LoginBurst limit login attempts per client IP and agent
	// name (0 = one attempt per 12s, burst 5).
	LoginEvery time.Duration
	LoginBurst int
	// AddressEvery and AddressBurst limit sign-in attempts per client IP
	// whatever the name, before any hashing (0 = one per 3s, burst 20).
	AddressEvery time.Duration
	AddressBurst int
	// MaxHashing caps the password hashes (bcrypt) running at once (0 = the
	// number of CPUs); a sign-in waits at most HashWait for a slot (0 =
	// 500ms), then gets 503 with Retry-After.
	MaxHashing int
	HashWait   time.Duration
	// Metrics, when set, gets the sign-in guards' collectors.
	Metrics prometheus.Registerer
	// PresenceTTL: an agent whose console has not been seen for this long
	// counts as offline (0 = 90s).
	PresenceTTL time.Duration
	// Now is the clock (nil = time.Now); tests inject a fake one.
	Now func() time.Time
}

// Canned is a prepared reply an agent can pick in the console.
type Canned struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	Lang  string `json:"lang,omitempty"`
}

// Texts are the notices the customer gets from the queue. Placeholders:
// {position}, {wait} in Queued; {opens} in OutOfHours; {agent} in Assigned.
type Texts struct {
	Queued           string
	QueuedNoEstimate string
	OutOfHours       string
	NoAgent          string
	Assigned         string
	Reopened         string
	Resolved         string
	CSATQuestion     string
	CSATThanks       string
	Minutes          string // "{n} min"
	// OpensToday, OpensTomorrow, OpensOn fill {opens}; {time} is HH:MM and
	// {date} is the day, both in the business hours' time zone.
	OpensToday    string
	OpensTomorrow string
	OpensOn       string
}

// DefaultTexts are the built-in notices in Russian and English.
var DefaultTexts = map[string]Texts{
	"en": {
		Queued:           "I've passed your request to our support team. You are number {position} in the queue; expected wait is about {wait}. You don't need to repeat anything: the agent sees our whole conversation.",
		QueuedNoEstimate: "I've passed your request to our support team. You are number {position} in the queue. You don't need to repeat anything: the agent sees our whole conversation.",
		OutOfHours:       "Our support team is offline right now and will be back {opens}. Your request is saved and an agent will answer here as soon as they are in.",
		NoAgent:          "I've passed your request to our support team, but no agent is online at the moment. Your request is saved and an agent will answer here as soon as possible.",
		Assigned:         "{agent} has joined the conversation.",
		Reopened:         "Your previous request is reopened; an agent will answer here shortly.",
		Resolved:         "The agent has closed your request. If you need anything else, just write.",
		CSATQuestion:     "The agent has closed your request. How would you rate the help you got, from 1 (bad) to 5 (excellent)?",
		CSATThanks:       "Thank you for your rating!",
		Minutes:          "{n} min",
		OpensToday:       "today at {time}",
		OpensTomorrow:    "tomorrow at {time}",
		OpensOn:          "on {date} at {time}",
	},
	"ru": {
		Queued:           "Я передал ваш вопрос команде поддержки. Вы {position}-й в очереди, ожидание около {wait}. Повторять ничего не нужно: оператор видит всю нашу переписку.",
		QueuedNoEstimate: "Я передал ваш вопрос команде поддержки. Вы {position}-й в очереди. Повторять ничего не нужно: оператор видит всю нашу переписку.",
		OutOfHours:       "Сейчас поддержка не работает, мы вернёмся {opens}. Ваш вопрос сохранён, оператор ответит здесь, как только начнёт работу.",
		NoAgent:          "Я передал ваш вопрос команде поддержки, но сейчас нет свободных операторов. Ваш вопрос сохранён, оператор ответит здесь как можно скорее.",
		Assigned:         "К разговору подключился оператор {agent}.",
		Reopened:         "Ваше обращение снова открыто, оператор скоро ответит здесь.",
		Resolved:         "Оператор закрыл обращение. Если понадобится что-то ещё, просто напишите.",
		CSATQuestion:     "Оператор закрыл обращение. Оцените, пожалуйста, помощь от 1 (плохо) до 5 (отлично).",
		CSATThanks:       "Спасибо за оценку!",
		Minutes:          "{n} мин",
		OpensToday:       "сегодня в {time}",
		OpensTomorrow:    "завтра в {time}",
		OpensOn:          "{date} в {time}",
	},
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.DefaultLang == "" {
		c.DefaultLang = "en"
	}
	if c.ReopenWindow == 0 {
		c.ReopenWindow = 24 * time.Hour
	}
	if c.Capacity == 0 {
		c.Capacity = 5
	}
	if c.Capacity < 0 {
		return c, fmt.Errorf("handoff config: capacity %d: want at least 1", c.Capacity)
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = 12
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		return c, fmt.Errorf("handoff config: bcrypt cost %d: want %d..%d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.SessionMaxAge == 0 {
		c.SessionMaxAge = 7 * 24 * time.Hour
	}
	if c.OneTimeTTL == 0 {
		c.OneTimeTTL = DefaultOneTimeTTL
	}
	if c.AddressEvery == 0 {
		c.AddressEvery = 3 * time.Second
	}
	if c.AddressBurst == 0 {
		c.AddressBurst = 20
	}
	if c.MaxHashing == 0 {
		c.MaxHashing = runtime.GOMAXPROCS(0)
	}
	if c.HashWait == 0 {
		c.HashWait = 500 * time.Millisecond
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"session max age", c.SessionMaxAge}, {"one-time password TTL", c.OneTimeTTL}, {"sign-in address interval", c.AddressEvery}, {"hash wait", c.HashWait}} {
		if d.v < 0 {
			return c, fmt.Errorf("handoff config: %s %v: want a positive duration", d.name, d.v)
		}
	}
	if c.AddressBurst < 0 || c.MaxHashing < 0 {
		return c, fmt.Errorf("handoff config: sign-in address burst %d, max hashing %d: want at least 1", c.AddressBurst, c.MaxHashing)
	}
	if c.LoginEvery == 0 {
		c.LoginEvery = 12 * time.Second
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = 5
	}
	if c.PresenceTTL == 0 {
		c.PresenceTTL = 90 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	lc, err := c.Lead().withDefaults(c.DefaultLang)
	if err != nil {
		return c, err
	}
	c.Texts, c.Canned = lc.Texts, lc.Canned
	return c, nil
}

// LeadConfig is the part of Config a support lead owns in the project
// (parley.yaml's handoff: and vars: sections): business hours, CSAT, the
// customer's notices, canned replies and the labels of the variables
// agents see. Service.SetLeadConfig replaces it while the server runs, so
// a project reload applies it without a restart.
type LeadConfig struct {
	Hours     Hours
	Texts     map[string]Texts
	CSAT      bool
	CSATEvery bool
	Canned    []Canned
	// VarLabels are the labels of the flow variables agents see, by
	// variable then language (flows.Project.AgentVars); nil: none given.
	VarLabels map[string]map[string]string
}

// Lead returns c's lead part.
func (c Config) Lead() LeadConfig {
	return LeadConfig{Hours: c.Hours, Texts: c.Texts, CSAT: c.CSAT, CSATEvery: c.CSATEvery, Canned: c.Canned, VarLabels: c.VarLabels}
}

// withDefaults fills the notices a language lacks from the built-in ones
// and checks the canned replies; defaultLang must have texts.
func (l LeadConfig) withDefaults(defaultLang string) (LeadConfig, error) {
	texts := map[string]Texts{}
	for lang, t := range DefaultTexts {
		texts[lang] = t
	}
	for lang, t := range l.Texts {
		texts[strings.ToLower(lang)] = t.fill(texts[lang], DefaultTexts[defaultLang], DefaultTexts["en"])
	}
	if _, ok := texts[defaultLang]; !ok {
		return l, fmt.Errorf("handoff config: default language %q has no texts", defaultLang)
	}
	l.Texts = texts
	seen := map[string]bool{}
	canned := slices.Clone(l.Canned)
	for i, cr := range canned {
		if cr.ID == "" || cr.Text == "" {
			return l, fmt.Errorf("handoff config: canned reply %d: id and text are required", i+1)
		}
		if seen[cr.ID] {
			return l, fmt.Errorf("handoff config: canned reply %q defined twice", cr.ID)
		}
		seen[cr.ID] = true
		if canned[i].Title == "" {
			canned[i].Title = cr.ID
		}
	}
	l.Canned = canned
	return l, nil
}

// fill returns t with every empty field taken from the first fallback that has it.
func (t Texts) fill(fallbacks ...Texts) Texts {
	pick := func(v *string, get func(Texts) string) {
		for _, f := range fallbacks {
			if *v != "" {
				return
			}
			*v = get(f)
		}
	}
	pick(&t.Queued, func(x Texts) string { return x.Queued })
	pick(&t.QueuedNoEstimate, func(x Texts) string { return x.QueuedNoEstimate })
	pick(&t.OutOfHours, func(x Texts) string { return x.OutOfHours })
	pick(&t.NoAgent, func(x Texts) string { return x.NoAgent })
	pick(&t.Assigned, func(x Texts) string { return x.Assigned })
	pick(&t.Reopened, func(x Texts) string { return x.Reopened })
	pick(&t.Resolved, func(x Texts) string { return x.Resolved })
	pick(&t.CSATQuestion, func(x Texts) string { return x.CSATQuestion })
	pick(&t.CSATThanks, func(x Texts) string { return x.CSATThanks })
	pick(&t.Minutes, func(x Texts) string { return x.Minutes })
	pick(&t.OpensToday, func(x Texts) string { return x.OpensToday })
	pick(&t.OpensTomorrow, func(x Texts) string { return x.OpensTomorrow })
	pick(&t.OpensOn, func(x Texts) string { return x.OpensOn })
	return t
}

// texts returns the notices for a contact's language ("ru-RU" -> "ru"),
// else those of defaultLang.
func (l *LeadConfig) texts(lang, defaultLang string) Texts {
	lang = strings.ToLower(lang)
	if t, ok := l.Texts[lang]; ok {
		return t
	}
	if base, _, ok := strings.Cut(lang, "-"); ok {
		if t, ok := l.Texts[base]; ok {
			return t
		}
	}
	return l.Texts[defaultLang]
}

// expand replaces {name} placeholders.
func expand(s string, kv ...string) string { return strings.NewReplacer(kv...).Replace(s) }
