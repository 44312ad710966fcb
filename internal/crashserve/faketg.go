package crashserve

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the bot token the fake Telegram API accepts.
const Token = "123456:crash-serve-token"

// message is one customer message the fakes serve, and what became of it.
type message struct {
	id    int // update_id (Telegram) or position (VK), from 1
	chat  int64
	seq   int // the chat's message number, from 0; the text is "m<seq>"
	at    time.Time
	acked time.Time // when the fake saw it acknowledged
}

// delivery is one reply a fake accepted.
type delivery struct {
	chat int64
	text string
	at   time.Time
	key  string // VK random_id; "" on Telegram
}

// log is what a fake API saw: the messages it served and the replies it took.
type log struct {
	mu    sync.Mutex
	msgs  []*message // by id-1
	sent  []delivery
	next  map[int64]int // per chat, the next message number
	added chan struct{} // closed and replaced when a message is added
	// replied gets a signal (if there is room) when a reply is recorded,
	// for kills aimed right after a send.
	replied chan struct{}
}

func newLog() *log {
	return &log{next: map[int64]int{}, added: make(chan struct{}), replied: make(chan struct{}, 1)}
}

// add makes the chat's next message available.
func (l *log) add(chat int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next[chat]
	l.next[chat] = seq + 1
	l.msgs = append(l.msgs, &message{id: len(l.msgs) + 1, chat: chat, seq: seq, at: now})
	close(l.added)
	l.added = make(chan struct{})
}

// ack marks every message with an id below next as acknowledged.
func (l *log) ack(next int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < next-1 && i < len(l.msgs); i++ {
		if l.msgs[i].acked.IsZero() {
			l.msgs[i].acked = now
		}
	}
}

// from returns up to limit messages with id >= first, or, when there are
// none, a channel closed when one is added.
func (l *log) from(first, limit int) ([]message, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if first < 1 {
		first = 1
	}
	if first > len(l.msgs) {
		return nil, l.added
	}
	var out []message
	for _, m := range l.msgs[first-1 : min(len(l.msgs), first-1+limit)] {
		out = append(out, *m)
	}
	return out, nil
}

func (l *log) record(d delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, d)
	select {
	case l.replied <- struct{}{}:
	default:
	}
}

func (l *log) snapshot() ([]message, []delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := make([]message, len(l.msgs))
	for i, m := range l.msgs {
		msgs[i] = *m
	}
	return msgs, append([]delivery(nil), l.sent...)
}

// server is an HTTP server on a free loopback port.
type server struct {
	srv *http.Server
	url string
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, url: "http://" + ln.Addr().String()}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) close() { s.srv.Close() }

// fakeTelegram is the Bot API for one bot in long-poll mode: getUpdates
// serves the log's messages (holding the request open while there are
// none, as Telegram does) and an offset acknowledges the ones below it;
// sendMessage and sendPhoto are recorded.
type fakeTelegram struct {
	log  *log
	stop chan struct{}
}

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+Token+"/")
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	r.ParseMultipartForm(1 << 20)
	switch method {
	case "getMe":
		fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Crash","username":"crash_bot"}}`)
	case "getUpdates":
		f.getUpdates(w, r)
	case "sendMessage", "sendPhoto":
		chat, _ := strconv.ParseInt(r.Form.Get("chat_id"), 10, 64)
		text := r.Form.Get("text") + r.Form.Get("caption")
		f.log.record(delivery{chat: chat, text: text, at: time.Now()})
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":1,"date":%d,"chat":{"id":%d,"type":"private"},"text":"ok"}}`, time.Now().Unix(), chat)
	default: // deleteWebhook, answerCallbackQuery, sendChatAction
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}
}

type tgUpdate struct {
	UpdateID int       `json:"update_id"`
	Message  tgMessage `json:"message"`
}

type tgMessage struct {
	MessageID int    `json:"message_id"`
	Date      int64  `json:"date"`
	Chat      tgChat `json:"chat"`
	From      tgUser `json:"from"`
	Text      string `json:"text"`
}

type tgChat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type tgUser struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	Lang      string `json:"language_code"`
}

func (f *fakeTelegram) getUpdates(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.Form.Get("offset"))
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(r.Form.Get("timeout"))
	if offset > 0 {
		f.log.ack(offset, time.Now())
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		msgs, added := f.log.from(offset, limit)
		if len(msgs) > 0 || timeout == 0 {
			ups := make([]tgUpdate, len(msgs))
			for i, m := range msgs {
				ups[i] = tgUpdate{UpdateID: m.id, Message: tgMessage{MessageID: m.id, Date: m.at.Unix(),
					Chat: tgChat{ID: m.chat, Type: "private"}, From: tgUser{ID: m.chat, FirstName: "C", Lang: "en"},
					Text: text(m.seq)}}
			}
			b, _ := json.Marshal(ups)
			fmt.Fprintf(w, `{"ok":true,"result":%s}`, b)
			return
		}
		select {
		case <-added:
		case <-deadline.C:
			fmt.Fprint(w, `{"ok":true,"result":[]}`)
			return
		case <-r.Context().Done(): // the server was killed
			return
		case <-f.stop:
			return
		}
	}
}

// text is a chat's message number seq as the customer types it; the echo
// project answers "echo " + text.
func text(seq int) string { return "m" + strconv.Itoa(seq) }
