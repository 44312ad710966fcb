package handoff

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/internal/browsertest"
)

// The console labels the ticket's variables with the project's words
// (parley.yaml vars:, LeadConfig.VarLabels), and a reload of the project
// (SetLeadConfig) relabels an open ticket without reloading the page.
func TestVarLabelsInBrowser(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru", VarLabels: map[string]map[string]string{"order": {"ru": "Номер вашего заказа", "en": "Your order"}}})
	srv := e.server()
	e.agent("anna", RoleAgent)
	olga := e.contact("telegram:42", "Ольга", "ru")
	tk, _ := e.escalate(olga, "requested", "")

	ctx := browsertest.New(t, browsertest.Size{Width: 1366, Height: 768})
	consoleSignIn(t, ctx, srv.URL, "anna")
	doSteps(t, ctx, "open the ticket", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.ticket-item[data-id="%d"]`, tk.ID))),
		pollJS(`document.getElementById("vars").innerText.includes("Номер вашего заказа\t1234567")`))

	if err := e.svc.SetLeadConfig(LeadConfig{VarLabels: map[string]map[string]string{"order": {"ru": "Заказ клиента"}}}); err != nil {
		t.Fatal(err)
	}
	doSteps(t, ctx, "relabelled live", pollJS(`document.getElementById("vars").innerText.includes("Заказ клиента\t1234567")`))
}
