package crashserve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GroupID is the community the fake VK API serves.
const GroupID = 4242

// fakeVK is the VK API and its Bots Long Poll server for one community:
// a_check serves the log's messages after ts (holding the request open while
// there are none) and a ts acknowledges the messages up to it; messages.send
// is recorded with its random_id.
type fakeVK struct {
	log  *log
	url  string // the server's own URL, for groups.getLongPollServer
	stop chan struct{}
}

func (f *fakeVK) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/lp" {
		f.check(w, r)
		return
	}
	r.ParseForm()
	switch strings.TrimPrefix(r.URL.Path, "/method/") {
	case "groups.getLongPollServer":
		// From the start of the log: the first run must see every message,
		// later runs resume from the position they stored.
		fmt.Fprintf(w, `{"response":{"key":"k","server":%q,"ts":"0"}}`, f.url+"/lp")
	case "messages.send":
		peer, _ := strconv.ParseInt(r.Form.Get("peer_id"), 10, 64)
		f.log.record(delivery{chat: peer, text: r.Form.Get("message"), at: time.Now(), key: r.Form.Get("random_id")})
		fmt.Fprint(w, `{"response":1}`)
	default:
		fmt.Fprint(w, `{"response":1}`)
	}
}

type vkEvent struct {
	Type    string   `json:"type"`
	GroupID int64    `json:"group_id"`
	EventID string   `json:"event_id"`
	Object  vkObject `json:"object"`
}

type vkObject struct {
	Message    vkMessage    `json:"message"`
	ClientInfo vkClientInfo `json:"client_info"`
}

type vkMessage struct {
	Date   int64  `json:"date"`
	PeerID int64  `json:"peer_id"`
	FromID int64  `json:"from_id"`
	Text   string `json:"text"`
	CMID   int    `json:"conversation_message_id"`
}

type vkClientInfo struct {
	ButtonActions  []string `json:"button_actions"`
	Keyboard       bool     `json:"keyboard"`
	InlineKeyboard bool     `json:"inline_keyboard"`
	LangID         int      `json:"lang_id"`
}

// check is one long poll request: ts is the last position the client has,
// so the messages after it are new and those up to it acknowledged.
func (f *fakeVK) check(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, err := strconv.Atoi(q.Get("ts"))
	if err != nil {
		fmt.Fprint(w, `{"failed":3}`)
		return
	}
	f.log.ack(ts+1, time.Now())
	wait, _ := strconv.Atoi(q.Get("wait"))
	deadline := time.NewTimer(time.Duration(wait) * time.Second)
	defer deadline.Stop()
	for {
		msgs, added := f.log.from(ts+1, 100)
		if len(msgs) > 0 || wait == 0 {
			evs := make([]vkEvent, len(msgs))
			for i, m := range msgs {
				evs[i] = vkEvent{Type: "message_new", GroupID: GroupID, EventID: "ev" + strconv.Itoa(m.id),
					Object: vkObject{Message: vkMessage{Date: m.at.Unix(), PeerID: m.chat, FromID: m.chat, Text: text(m.seq), CMID: m.seq + 1},
						ClientInfo: vkClientInfo{ButtonActions: []string{"text", "callback"}, Keyboard: true, InlineKeyboard: true, LangID: 3}}}
			}
			b, _ := json.Marshal(evs)
			fmt.Fprintf(w, `{"ts":"%d","updates":%s}`, ts+len(msgs), b)
			return
		}
		select {
		case <-added:
		case <-deadline.C:
			fmt.Fprintf(w, `{"ts":"%d","updates":[]}`, ts)
			return
		case <-r.Context().Done():
			return
		case <-f.stop:
			return
		}
	}
}
