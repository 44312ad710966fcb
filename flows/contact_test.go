package flows_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
)

func TestContactWith(t *testing.T) {
	before := flows.Contact{ID: "c1", Name: "Анна", Lang: "ru", Fields: map[string]string{"city": "Казань"}}
	got := before.With(map[string]string{"name": "Anna", "language": "en", "order": "5550123"})
	want := flows.Contact{ID: "c1", Name: "Anna", Lang: "en", Fields: map[string]string{"city": "Казань", "order": "5550123"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(before.Fields) != 1 {
		t.Errorf("the earlier contact's fields changed: %v", before.Fields)
	}
	if same := before.With(nil); !cmp.Equal(same, before) {
		t.Errorf("no fields changed the contact: %+v", same)
	}
}
