package webchat

import (
	"net/url"
	"regexp"
	"strings"
)

// visitorProfile is what the agent's card shows of a web visitor: the page
// the widget is on (an http or https address without query or fragment,
// else nothing) and the browser in a few words ("Chrome 131 on Windows").
// nil when neither is known.
func visitorProfile(page, ua string) map[string]string {
	p := map[string]string{}
	if u, err := url.Parse(strings.TrimSpace(page)); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		p["page"] = u.String()
	}
	if b := browserName(ua); b != "" {
		p["browser"] = b
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// browserTokens are matched in order: Edge and Opera say "Chrome" too,
// and Chrome says "Safari".
var browserTokens = []*regexp.Regexp{
	regexp.MustCompile(`(Edg)[A-Za-z]*/(\d+)`),
	regexp.MustCompile(`(OPR|YaBrowser)/(\d+)`),
	regexp.MustCompile(`(Firefox|FxiOS)/(\d+)`),
	regexp.MustCompile(`(Chrome|CriOS|Chromium)/(\d+)`),
	regexp.MustCompile(`Version/(\d+)[.\d]* (?:Mobile/\S+ )?(Safari)/`),
}

var browserNames = map[string]string{"Edg": "Edge", "OPR": "Opera", "YaBrowser": "Yandex Browser",
	"FxiOS": "Firefox", "CriOS": "Chrome", "Chromium": "Chromium", "Chrome": "Chrome", "Firefox": "Firefox", "Safari": "Safari"}

var osTokens = []struct{ sub, name string }{
	{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
	{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
}

// browserName reduces a user agent to "Name Version on OS", or what of it
// can be told; the raw string when nothing can (clipped), "" for none.
func browserName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	name := ""
	for _, t := range browserTokens {
		m := t.FindStringSubmatch(ua)
		if m == nil {
			continue
		}
		if m[2] == "Safari" { // Version/17 Safari: the number comes first
			name = "Safari " + m[1]
		} else {
			name = browserNames[m[1]] + " " + m[2]
		}
		break
	}
	os := ""
	for _, o := range osTokens {
		if strings.Contains(ua, o.sub) {
			os = o.name
			break
		}
	}
	switch {
	case name != "" && os != "":
		return name + " on " + os
	case name != "":
		return name
	case os != "":
		return os
	}
	if len(ua) > 120 {
		ua = ua[:120]
	}
	return strings.ToValidUTF8(ua, "")
}
