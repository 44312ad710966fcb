package cmd

import (
	"encoding/json"
	"hash/fnv"
	"net"
	"net/http"
	"regexp"
	"time"
)

// demoSettings points the embedded demo's order lookups at this server's
// own demo order service (addr is the listener's address).
func demoSettings(addr string) (map[string]any, []string) {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return map[string]any{"orders_api": "http://" + net.JoinHostPort(host, port) + "/demo/api"}, []string{host}
}

// demoOrders stands in for a shop's order service so the demo bot's order
// lookup works on a machine with no network: GET /demo/api/orders/{id}
// answers a status derived from the number (the same number, the same
// answer); numbers starting with 9 are "not found". Served only with the
// embedded demo project.
func demoOrders(now func() time.Time) http.HandlerFunc {
	valid := regexp.MustCompile(`^[0-9]{6,10}$`)
	statuses := []string{"created", "assembling", "in_transit", "ready", "delivered"}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		w.Header().Set("Content-Type", "application/json")
		if !valid.MatchString(id) || id[0] == '9' {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "order not found"})
			return
		}
		h := fnv.New32a()
		h.Write([]byte(id))
		n := int(h.Sum32())
		status := statuses[n%len(statuses)]
		body := map[string]string{"id": id, "status": status}
		if status != "delivered" {
			body["eta"] = now().AddDate(0, 0, 1+n%5).Format("02.01.2006")
		}
		json.NewEncoder(w).Encode(body)
	}
}
