package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Each app's sidecar serves only the Dapr APIs its app uses and may invoke
// only what the callee's access policy names (config/, config/access/), so
// tests act through the sidecar of the app that would really do the thing.

// sidecarPorts are the sidecars' HTTP ports, as in dapr.yaml.
var sidecarPorts = map[string]int{
	"gateway": 3500, "auth": 3501, "products": 3502, "orders": 3503,
	"payments": 3504, "notifications": 3505, "workers": 3506,
}

// sidecarURL is the base URL of app's sidecar HTTP API.
func sidecarURL(app string) string {
	port, ok := sidecarPorts[app]
	if !ok {
		panic("no sidecar for app " + app)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/v1.0", port)
}

// publisherOf names the only app allowed to publish topic (the pub/sub
// component's publishingScopes).
func publisherOf(topic string) string {
	for prefix, app := range map[string]string{
		"user.": "auth", "inventory.": "products", "order.": "orders",
		"payment.": "payments", "notification.": "workers",
	} {
		if strings.HasPrefix(topic, prefix) {
			return app
		}
	}
	panic("no publisher for topic " + topic)
}

// publishURL is where topic's publisher publishes it.
func publishURL(topic string) string {
	return sidecarURL(publisherOf(topic)) + "/publish/pubsub/" + topic
}

// invokeAs invokes app's method through caller's sidecar, as caller would.
func invokeAs(t *testing.T, caller, verb, app, method, body string) response {
	t.Helper()
	headers := []string{"dapr-api-token", sys.env["DAPR_API_TOKEN"]}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
		headers = append(headers, "Content-Type", "application/json")
	}
	return call(t, verb, sidecarURL(caller)+"/invoke/"+app+"/method/"+method, r, headers...)
}

// deliverBinding posts to the workers' /<name> the way their own sidecar
// delivers a cron binding: straight to the app, with the app token and no
// caller (an invocation of that route, from any app, is refused).
func deliverBinding(t *testing.T, name string) response {
	t.Helper()
	return call(t, http.MethodPost, "http://127.0.0.1:3006/"+name, nil, "dapr-api-token", sys.env["APP_API_TOKEN"])
}
