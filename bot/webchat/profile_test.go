package webchat

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVisitorProfile(t *testing.T) {
	for _, tc := range []struct {
		page, ua string
		want     map[string]string
	}{
		{"https://shop.example/orders/7?token=secret#x", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			map[string]string{"page": "https://shop.example/orders/7", "browser": "Chrome 131 on Linux"}},
		{"http://user:pw@shop.example/", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
			map[string]string{"page": "http://shop.example/", "browser": "Edge 131 on Windows"}},
		{"javascript:alert(1)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			map[string]string{"browser": "Safari 17 on iOS"}},
		{"", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", map[string]string{"browser": "Firefox 133 on Android"}},
		{"file:///tmp/x.html", "curl/8.5", map[string]string{"browser": "curl/8.5"}},
		{"", "", nil},
	} {
		if diff := cmp.Diff(tc.want, visitorProfile(tc.page, tc.ua)); diff != "" {
			t.Errorf("visitorProfile(%q, %q) (-want +got):\n%s", tc.page, tc.ua, diff)
		}
	}
}
