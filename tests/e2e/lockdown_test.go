package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/server"
)

// Sidecar ports of dapr.yaml.
const (
	gatewaySidecarHTTP   = 3500
	gatewaySidecarGRPC   = 3600
	ordersSidecar        = 3503
	paymentsSidecar      = 3504
	notificationsSidecar = 3505
	workersSidecar       = 3506
)

// sidecarError is the body of an error answered by daprd itself.
type sidecarError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// gRPC status codes (google.golang.org/grpc/codes).
const (
	grpcOK            = 0
	grpcUnimplemented = 12
)

// TestSidecarLockdown talks to the sidecars directly, with a valid API
// token, as code running on a service's host could: the gateway's sidecar
// serves service invocation only, and an app's access policy refuses the
// callers it does not name, whatever route they aim at.
func TestSidecarLockdown(t *testing.T) {
	s := shop{admin: "Bearer " + token(t, uuid.New(), authn.RoleAdmin)}
	daprToken := sys.env["DAPR_API_TOKEN"]
	sidecar := func(t *testing.T, port int, method, path, body string) response {
		t.Helper()
		resp := call(t, method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader(body),
			"dapr-api-token", daprToken, "Content-Type", "application/json")
		assertNoSecrets(t, resp.Body)
		return resp
	}
	productID := s.newProduct(t, 900, 10)
	customer, order := s.placeOrder(t, productID, 1)
	s.waitInventory(t, productID, inventory{OnHand: 10, Reserved: 1, Available: 9})
	// unchanged checks that the order and the stock read as before a case
	// (not as at the start: a case failing must not fail the next ones).
	unchanged := func(t *testing.T) func() {
		t.Helper()
		state := func() string {
			return fmt.Sprintf("order %s, stock %+v", s.order(t, customer, order.ID).Status, s.inventory(t, productID))
		}
		before := state()
		return func() { assert.Equal(t, before, state(), "nothing changed") }
	}

	t.Run("the gateway's sidecar serves invocation", func(t *testing.T) {
		resp := sidecar(t, gatewaySidecarHTTP, http.MethodGet, "/v1.0/invoke/products/method/api/v1/products/"+productID, "")
		assert.Equal(t, http.StatusOK, resp.Status, "%s", redacted(resp.Body))
	})

	// With only invoke allowed, daprd registers no other API route: its
	// fallback, service invocation, finds no target app in the path and
	// answers 404 ERR_DIRECT_INVOKE (dapr 1.14 pkg/api/http/server.go
	// setupRoutes, directmessaging.go findTargetIDAndMethod).
	for _, tc := range []struct{ name, method, path, body string }{
		{"secrets (bulk)", http.MethodGet, "/v1.0/secrets/secretstore/bulk", ""},
		{"secrets (signing key)", http.MethodGet, "/v1.0/secrets/secretstore/jwt-signing-key", ""},
		{"state read", http.MethodGet, "/v1.0/state/statestore/hostile", ""},
		{"state write", http.MethodPost, "/v1.0/state/statestore", `[{"key": "hostile", "value": "x"}]`},
		{"denylist write", http.MethodPost, "/v1.0/state/denylist", `[{"key": "hostile", "value": "x"}]`},
		{"publish payment.succeeded", http.MethodPost, "/v1.0/publish/pubsub/payment.succeeded", forgedEvent(order)},
		{"bindings", http.MethodPost, "/v1.0/bindings/email", `{"operation": "create", "data": "x", "metadata": {"emailTo": "a@example.com"}}`},
		{"metadata", http.MethodGet, "/v1.0/metadata", ""},
	} {
		t.Run("the gateway's sidecar refuses the "+tc.name+" API", func(t *testing.T) {
			defer unchanged(t)()
			resp := sidecar(t, gatewaySidecarHTTP, tc.method, tc.path, tc.body)
			var e sidecarError
			assert.Equal(t, http.StatusNotFound, resp.Status, "%s", redacted(resp.Body))
			if assert.NoError(t, json.Unmarshal(resp.Body, &e), "%s", redacted(resp.Body)) {
				assert.Equal(t, "ERR_DIRECT_INVOKE", e.ErrorCode)
				assert.Contains(t, e.Message, "failed getting app id")
			}
		})
	}

	// Over gRPC the allow-list answers Unimplemented (pkg/api/grpc/endpoints.go).
	store := pbString(1, "secretstore")
	for _, tc := range []struct {
		method string
		msg    []byte
	}{
		{"GetSecret", append(store, pbString(2, "jwt-signing-key")...)},
		{"GetBulkSecret", store},
		{"GetState", append(pbString(1, "statestore"), pbString(2, "hostile")...)},
		{"SaveState", append(pbString(1, "statestore"), pbMessage(2, pbString(1, "hostile"), pbString(2, "x"))...)},
		{"PublishEvent", append(append(pbString(1, "pubsub"), pbString(2, "payment.succeeded")...), append(pbString(3, forgedEvent(order)), pbString(4, "application/cloudevents+json")...)...)},
		{"GetMetadata", nil},
	} {
		t.Run("the gateway's sidecar refuses gRPC "+tc.method, func(t *testing.T) {
			defer unchanged(t)()
			code, msg := grpcCall(t, gatewaySidecarGRPC, "dapr.proto.runtime.v1.Dapr/"+tc.method, tc.msg, "dapr-api-token", daprToken)
			assert.Equal(t, grpcUnimplemented, code, "grpc-message %q", msg)
		})
	}
	t.Run("the gateway's sidecar serves gRPC invocation", func(t *testing.T) {
		invoke := append(pbString(1, "products"), pbMessage(3, pbString(1, "api/v1/products/"+productID), pbMessage(4, pbVarint(1, 1)))...)
		code, msg := grpcCall(t, gatewaySidecarGRPC, "dapr.proto.runtime.v1.Dapr/InvokeService", invoke, "dapr-api-token", daprToken)
		assert.Equal(t, grpcOK, code, "grpc-message %q", msg)
	})

	// The callee's sidecar checks its access policy against the caller's
	// mTLS identity and answers PermissionDenied, which the caller's
	// sidecar turns into 403 ERR_DIRECT_INVOKE (pkg/acl/acl.go,
	// pkg/api/grpc/daprinternal.go callLocalValidateACL).
	reserve := fmt.Sprintf(`{"order_id": %q, "lines": [{"product_id": %q, "quantity": 3}]}`, uuid.NewString(), productID)
	refund := forged("orders", "order.refunded", map[string]any{"order_id": order.ID, "restock": true})
	placed := forged("orders", "order.created", map[string]any{"order_id": order.ID})
	t.Run("the notifications' sidecar cannot reserve stock", func(t *testing.T) {
		// Refused by products' access policy (403), or before it leaves when
		// the notifications' sidecar does not serve invocation at all (404).
		defer unchanged(t)()
		resp := sidecar(t, notificationsSidecar, http.MethodPost, "/v1.0/invoke/products/method/internal/reservations", reserve)
		assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, resp.Status, "%s", redacted(resp.Body))
	})
	// A dead letter is replayed by an admin through the app's own consumer,
	// so only the app's own sidecar may publish on its dead-letter topic: a
	// payment.succeeded forged there would mark an order paid.
	t.Run("payments cannot dead-letter an event for orders", func(t *testing.T) {
		defer unchanged(t)()
		resp := sidecar(t, paymentsSidecar, http.MethodPost, "/v1.0/publish/pubsub/deadletter.orders", forgedEvent(order))
		assert.Equal(t, http.StatusForbidden, resp.Status, "%s", redacted(resp.Body))
		var e sidecarError
		if assert.NoError(t, json.Unmarshal(resp.Body, &e), "%s", redacted(resp.Body)) {
			assert.Equal(t, "ERR_PUBSUB_FORBIDDEN", e.ErrorCode)
		}
	})
	for _, tc := range []struct {
		name       string
		port       int
		path, body string
	}{
		{"the gateway reserving stock", gatewaySidecarHTTP, "/v1.0/invoke/products/method/internal/reservations", reserve},
		{"payments reserving stock", paymentsSidecar, "/v1.0/invoke/products/method/internal/reservations", reserve},
		{"the gateway delivering payment.succeeded to orders", gatewaySidecarHTTP, "/v1.0/invoke/orders/method/events/payment.succeeded", forgedEvent(order)},
		{"payments delivering payment.succeeded to orders", paymentsSidecar, "/v1.0/invoke/orders/method/events/payment.succeeded", forgedEvent(order)},
		{"workers delivering payment.succeeded to orders", workersSidecar, "/v1.0/invoke/orders/method/events/payment.succeeded", forgedEvent(order)},
		{"the gateway delivering order.refunded to products", gatewaySidecarHTTP, "/v1.0/invoke/products/method/events/order.refunded", refund},
		{"orders delivering order.refunded to products", ordersSidecar, "/v1.0/invoke/products/method/events/order.refunded", refund},
		{"orders delivering order.created to products", ordersSidecar, "/v1.0/invoke/products/method/events/order.created", placed},
		{"the gateway running orders' expiry", gatewaySidecarHTTP, "/v1.0/invoke/orders/method/internal/orders/expire", ""},
		{"the gateway running a workers job", gatewaySidecarHTTP, "/v1.0/invoke/workers/method/cron-purge", ""},
		// Orders reserves and releases; only order.paid commits.
		{"orders committing a reservation", ordersSidecar, "/v1.0/invoke/products/method/internal/reservations/" + order.ID + "/commit", ""},
	} {
		t.Run("access control refuses "+tc.name, func(t *testing.T) {
			defer unchanged(t)()
			resp := sidecar(t, tc.port, http.MethodPost, tc.path, tc.body)
			assert.Equal(t, http.StatusForbidden, resp.Status, "%s", redacted(resp.Body))
			var e sidecarError
			if assert.NoError(t, json.Unmarshal(resp.Body, &e), "%s", redacted(resp.Body)) {
				assert.Equal(t, "ERR_DIRECT_INVOKE", e.ErrorCode)
				assert.Contains(t, e.Message, "access control policy has denied access")
			}
		})
	}

	// Behind the policy, products serves orders no more than orders calls:
	// a request its sidecar would deliver from orders (app token, caller
	// orders) finds no route to read or commit a reservation.
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/internal/reservations/" + order.ID + "/commit"},
		{http.MethodGet, "/internal/reservations/" + order.ID},
	} {
		t.Run("products serves orders no "+tc.method+" "+strings.Replace(tc.path, order.ID, "{order_id}", 1), func(t *testing.T) {
			defer unchanged(t)()
			resp := call(t, tc.method, "http://127.0.0.1:3002"+tc.path, nil,
				"dapr-api-token", sys.env["APP_API_TOKEN"], server.HeaderCallerAppID, contracts.AppOrders)
			assert.Equal(t, http.StatusNotFound, resp.Status, "%s", redacted(resp.Body))
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		})
	}
}
