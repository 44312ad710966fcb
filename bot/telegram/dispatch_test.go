package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/rs/zerolog"
)

// A batch from getUpdates: chats run in parallel, one chat's updates in
// order, and the offset stops before the first update that was not recorded
// (later updates of that chat are not even tried).
func TestDispatchOrderAndOffset(t *testing.T) {
	a, err := New(Config{Token: testToken, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	batch := []json.RawMessage{
		json.RawMessage(textUpdate(1, 10, "a1")),
		json.RawMessage(textUpdate(2, 20, "b1")),
		json.RawMessage(textUpdate(3, 10, "a2")),
		json.RawMessage(textUpdate(4, 20, "b2")),
		json.RawMessage(`{"update_id":5,"edited_message":{"message_id":1,"date":1,"chat":{"id":10},"text":"x"}}`),
	}
	b1seen := make(chan struct{})
	var mu sync.Mutex
	var calls []string
	h := channel.HandlerFunc(func(_ context.Context, in channel.Inbound) error {
		mu.Lock()
		calls = append(calls, in.Text)
		mu.Unlock()
		switch in.Text {
		case "a1":
			// Chat 10 waits for chat 20: only parallel lanes get past this.
			select {
			case <-b1seen:
			case <-time.After(5 * time.Second):
				t.Error("chats were not handled in parallel")
			}
		case "b1":
			close(b1seen)
			return errors.New("store unavailable")
		}
		return nil
	})
	next, err := a.dispatch(context.Background(), h, batch)
	if err == nil {
		t.Fatal("dispatch hid the handler error")
	}
	if next != 2 {
		t.Errorf("offset %d, want 2: confirm update 1, refetch from the failed update 2", next)
	}
	var chatA []string
	for _, c := range calls {
		switch c {
		case "a1", "a2":
			chatA = append(chatA, c)
		case "b2":
			t.Error("b2 was handled after b1 failed: it would overtake b1")
		}
	}
	if d := diff([]string{"a1", "a2"}, chatA); d != "" {
		t.Errorf("chat 10 order (-want +got):\n%s", d)
	}

	// All recorded: the offset passes the ignored update too.
	next, err = a.dispatch(context.Background(), channel.HandlerFunc(func(context.Context, channel.Inbound) error { return nil }), batch)
	if err != nil || next != 6 {
		t.Errorf("dispatch = %d, %v; want 6, nil", next, err)
	}
}
