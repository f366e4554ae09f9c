// Package contractstest checks both sides of an event contract against one
// sample per topic. A producer's test proves the sample is what its own
// code publishes, as the topic's payload type (Sent); a consumer's test
// decodes the sample into that type as it decodes a delivery and proves
// every field it reads is there (Received), or hands the sample to its
// subscription (Deliver). A field one side reads and the other never
// sends fails one of the two.
package contractstest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/events"
)

//go:embed samples/*.json
var samples embed.FS

// payloads are the payload types of the topics, by topic.
func payloads() map[string]reflect.Type {
	return map[string]reflect.Type{
		contracts.TopicUserRegistered:        reflect.TypeFor[contracts.UserRegisteredV1](),
		contracts.TopicInventoryReleased:     reflect.TypeFor[contracts.InventoryReservationV1](),
		contracts.TopicInventoryRestocked:    reflect.TypeFor[contracts.InventoryReservationV1](),
		contracts.TopicInventoryLowStock:     reflect.TypeFor[contracts.LowStockV1](),
		contracts.TopicOrderCreated:          reflect.TypeFor[contracts.OrderCreatedV1](),
		contracts.TopicOrderPaid:             reflect.TypeFor[contracts.OrderPaidV1](),
		contracts.TopicOrderCancelled:        reflect.TypeFor[contracts.OrderCancelledV1](),
		contracts.TopicOrderShipped:          reflect.TypeFor[contracts.OrderStatusChangedV1](),
		contracts.TopicOrderDelivered:        reflect.TypeFor[contracts.OrderStatusChangedV1](),
		contracts.TopicOrderRefunded:         reflect.TypeFor[contracts.OrderRefundedV1](),
		contracts.TopicPaymentCreated:        reflect.TypeFor[contracts.PaymentCreatedV1](),
		contracts.TopicPaymentSucceeded:      reflect.TypeFor[contracts.PaymentSucceededV1](),
		contracts.TopicPaymentFailed:         reflect.TypeFor[contracts.PaymentFailedV1](),
		contracts.TopicPaymentRefunded:       reflect.TypeFor[contracts.PaymentRefundedV1](),
		contracts.TopicNotificationRequested: reflect.TypeFor[contracts.NotificationRequestedV1](),
	}
}

// payload returns the payload type of topic.
func payload(t testing.TB, topic string) reflect.Type {
	t.Helper()
	typ, ok := payloads()[topic]
	require.True(t, ok, "no payload type for %s", topic)
	return typ
}

// decodeStrictly decodes data into a new value of typ, refusing a field
// typ does not have.
func decodeStrictly(data []byte, typ reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(reflect.New(typ).Interface())
}

// Sample returns what topic's producer publishes.
func Sample(t testing.TB, topic string) []byte {
	t.Helper()
	b, err := samples.ReadFile("samples/" + topic + ".json")
	require.NoError(t, err, "no sample of %s", topic)
	return b
}

// Sent asserts that sent, built by the producer's own code (a struct of
// topic's payload type, or the JSON published: bytes or a decoded map),
// decodes into that type without a field to spare and has the shape of
// topic's sample: the same fields, of the same JSON kinds. Values may
// differ, ids and times being the producer's own.
func Sent(t testing.TB, topic string, sent any) {
	t.Helper()
	typ := payload(t, topic)
	got, ok := sent.([]byte)
	if !ok {
		if reflect.TypeOf(sent).Kind() == reflect.Struct {
			require.Equal(t, typ, reflect.TypeOf(sent), "%s is published as its payload type", topic)
		}
		var err error
		got, err = json.Marshal(sent)
		require.NoError(t, err)
	}
	require.NoError(t, decodeStrictly(got, typ), "%s as published decodes into %s", topic, typ)
	var want, published any
	require.NoError(t, json.Unmarshal(Sample(t, topic), &want))
	require.NoError(t, json.Unmarshal(got, &published))
	assert.Equal(t, shape(want), shape(published), "%s as published", topic)
}

// shape replaces the values of a decoded JSON document by their kinds;
// an array takes the shape of its first element. An empty string and the
// nil UUID are a kind of their own: a producer that leaves a field of the
// shared type empty sends nothing in it.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, field := range v {
			out[k] = shape(field)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shape(v[0])}
	case string:
		if v == "" || v == uuid.Nil.String() {
			return "empty string"
		}
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	default:
		return "null"
	}
}

// Received decodes topic's sample into v, a pointer to topic's payload
// type, as a delivery is decoded, and asserts the sample holds every
// field of v, nested ones included, except the JSON names listed
// optional: the consumer's fallback when a producer leaves them out.
func Received(t testing.TB, topic string, v any, optional ...string) {
	t.Helper()
	require.Equal(t, reflect.PointerTo(payload(t, topic)), reflect.TypeOf(v), "%s is decoded as its payload type", topic)
	data := Sample(t, topic)
	require.NoError(t, events.Event{ID: "contract", Topic: topic, Data: data}.Decode(v), "decode %s", topic)
	var tree any
	require.NoError(t, json.Unmarshal(data, &tree))
	for _, missing := range absent(reflect.TypeOf(v).Elem(), tree, "") {
		if !slices.Contains(optional, missing) {
			assert.Fail(t, "field never sent", "%s: the consumer reads %q, the producer does not send it", topic, missing)
		}
	}
}

// Deliver hands topic's sample to the subscription to topic among subs,
// as the sidecar delivers an event, and returns the handler's answer.
func Deliver(t testing.TB, subs []events.Subscription, topic string) error {
	t.Helper()
	for _, s := range subs {
		if s.Topic == topic {
			return s.Handler(context.Background(), events.Event{ID: "contract", Topic: topic, Data: Sample(t, topic)})
		}
	}
	require.Failf(t, "no subscription", "nothing subscribes to %s", topic)
	return nil
}

// absent lists the JSON fields of type typ that value lacks, as dotted
// paths under prefix.
func absent(typ reflect.Type, value any, prefix string) []string {
	switch {
	case typ.Kind() == reflect.Pointer:
		return absent(typ.Elem(), value, prefix)
	case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
		items, _ := value.([]any)
		if len(items) == 0 {
			return []string{strings.TrimSuffix(prefix, ".") + "[]"}
		}
		var out []string
		for _, it := range items {
			out = append(out, absent(typ.Elem(), it, prefix)...)
		}
		return out
	case typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Time]():
		return nil
	}
	object, _ := value.(map[string]any)
	var out []string
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			out = append(out, absent(f.Type, value, prefix)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		field, ok := object[name]
		if !ok || field == nil {
			out = append(out, prefix+name)
			continue
		}
		out = append(out, absent(f.Type, field, prefix+name+".")...)
	}
	return out
}
