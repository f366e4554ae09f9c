package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/contracts/contractstest"
	"github.com/daprshop/daprshop/services/platform/purge"
)

// sidecar answers invocations from a table keyed "app verb method" and
// records what is published.
type sidecar struct {
	answers   map[string]string
	failing   map[string]bool
	calls     []string
	published []published
}

type published struct {
	topic    string
	data     string
	metadata map[string]string
}

func (s *sidecar) InvokeMethod(_ context.Context, appID, method, verb string) ([]byte, error) {
	key := appID + " " + verb + " " + method
	s.calls = append(s.calls, key)
	if s.failing[appID] {
		return nil, errors.New("rpc error: code = Internal desc = fail to invoke")
	}
	return []byte(s.answers[key]), nil
}

func (s *sidecar) PublishEvent(_ context.Context, pubsub, topic string, data any, opts ...dapr.PublishEventOption) error {
	req := &pb.PublishEventRequest{}
	for _, o := range opts {
		o(req)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	s.published = append(s.published, published{topic: pubsub + "/" + topic, data: string(b), metadata: req.Metadata})
	return nil
}

func TestCountedAddsUpTheCountsOfTheAnswer(t *testing.T) {
	s := &sidecar{answers: map[string]string{
		"orders post internal/orders/expire": `{"cancelled": 3, "released": 2}`,
		"orders post internal/other":         `{"error": "not a count"}`,
	}}
	n, err := Counted(s, contracts.AppOrders, contracts.ExpireOrdersPath)(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, n)

	_, err = Counted(s, contracts.AppOrders, "/internal/other")(context.Background())
	assert.ErrorContains(t, err, "not counts")

	s.failing = map[string]bool{"orders": true}
	_, err = Counted(s, contracts.AppOrders, contracts.ExpireOrdersPath)(context.Background())
	assert.ErrorContains(t, err, "invoke orders internal/orders/expire")
}

func TestPurgeAddsUpEveryServiceAndGoesOnPastAFailure(t *testing.T) {
	s := &sidecar{
		answers: map[string]string{
			"auth post internal/purge":   `{"purged": {"sessions": 2, "outbox": 1}}`,
			"orders post internal/purge": `{"purged": {"idempotency_keys": 4}}`,
		},
		failing: map[string]bool{"products": true},
	}
	own := map[string]purge.Task{"processed_events": func(context.Context, time.Time) (int64, error) { return 5, nil }}

	n, err := Purge(s, []string{"auth", "products", "orders"}, own, time.Now)(context.Background())
	assert.ErrorContains(t, err, "invoke products internal/purge")
	assert.Equal(t, 12, n, "own 5 + auth 3 + orders 4")
	assert.Equal(t, []string{"auth post internal/purge", "products post internal/purge", "orders post internal/purge"}, s.calls)
}

func TestLowStockDigestIsOneEventPerDayAndListAndOnlyWhenSomethingIsLow(t *testing.T) {
	day := time.Date(2026, 11, 25, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600))
	s := &sidecar{answers: map[string]string{"products get internal/inventory/low-stock": `{"items": []}`}}
	job := LowStockDigest(s, s, func() time.Time { return day })

	n, err := job(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, s.published, "no digest when nothing is low")

	item := `{"product_id":"0d6f1c52-9c55-4d59-a3a8-4c5d3e1f2a10","sku":"PEN","name":"Pen","available":1,"threshold":3}`
	s.answers["products get internal/inventory/low-stock"] = `{"items": [` + item + `]}`
	n, err = job(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.Len(t, s.published, 1)
	got := s.published[0]
	assert.Equal(t, "pubsub/notification.requested", got.topic)
	assert.JSONEq(t, `{"template": "low_stock_digest", "data": {"items": [`+item+`]}}`, got.data)
	contractstest.Sent(t, contracts.TopicNotificationRequested, []byte(got.data))
	assert.Regexp(t, `^low-stock-digest-2026-11-26-[0-9a-f]{16}$`, got.metadata["cloudevent.id"], "the UTC day names the event")

	_, err = job(context.Background())
	require.NoError(t, err)
	require.Len(t, s.published, 2)
	assert.Equal(t, got.metadata, s.published[1].metadata, "the same list the same day is the same event")

	s.answers["products get internal/inventory/low-stock"] = `{"items": [` + item + `,` + item + `]}`
	_, err = job(context.Background())
	require.NoError(t, err)
	require.Len(t, s.published, 3)
	assert.NotEqual(t, got.metadata, s.published[2].metadata, "a changed list is a new digest")
}
