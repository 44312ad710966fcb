package flowtest_test

import (
	"strings"
	"testing"
)

// A flow that asks for a photo of the damaged parcel: a picture answers
// it (its reference saved, its kind and size readable), a PDF or text does
// not.
const photoProject = `name: photo
start: main
escalation: {negative: "off", requested: "off"}
`

const photoFlow = `flow: main
start: ask_photo
nodes:
  ask_photo:
    ask: "Пришлите фото повреждённой посылки."
    validate: attachment.kind == "image" && attachment.size <= 5000000
    retry: "Нужна именно фотография (до 5 МБ)."
    save: photo
    set:
      photo_name: attachment.name
      photos: len(attachments)
    next: thanks
  thanks:
    say: "Спасибо, фото {{ vars.photo_name }} получено ({{ attachment.type }})."
`

func TestAttachmentTurns(t *testing.T) {
	res := runProject(t, photoProject, photoFlow, `tests:
  - name: a photo answers the question
    turns:
      - user: привет
        bot: ["Пришлите фото повреждённой посылки."]
      - file: акт.pdf
        bot: ["Нужна именно фотография (до 5 МБ)."]
      - photo: box.jpg
        bot: ["Спасибо, фото box.jpg получено (image/jpeg)."]
        vars: {photo: "parley:f_test3", photo_name: box.jpg, photos: 1}
  - name: too big a photo is refused by the flow
    turns:
      - user: привет
      - photo: huge.png
        size: 9000000
        bot: ["Нужна именно фотография (до 5 МБ)."]
      - photo: small.png
        user: вот, с подписью
        bot: ["Спасибо, фото small.png получено (image/png)."]
        vars: {photo: "вот, с подписью"}
`)
	for _, r := range res {
		if r.Failed {
			t.Errorf("%s: %s", r.Name, r.Failure)
		}
	}
	if len(res) != 2 {
		t.Fatalf("want 2 results, got %d", len(res))
	}
	bad := runProject(t, photoProject, photoFlow, `tests:
  - name: wrong expectation
    turns:
      - user: привет
      - photo: box.jpg
        bot: ["Спасибо!"]
`)
	if len(bad) != 1 || !bad[0].Failed || !strings.Contains(bad[0].Failure, `turn 2 (photo "box.jpg")`) {
		t.Errorf("a failing attachment turn: %+v", bad)
	}
}
