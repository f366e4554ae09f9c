package contractstest

import (
	"encoding/json"
	"io/fs"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// TestEveryTopicHasASampleOfItsPayloadType checks the samples against the
// payload types: each decodes into its topic's type without a field to
// spare, and lacks none of the type's fields but optional ones.
func TestEveryTopicHasASampleOfItsPayloadType(t *testing.T) {
	files, err := fs.Glob(samples, "samples/*.json")
	require.NoError(t, err)
	var topics []string
	for _, f := range files {
		topics = append(topics, strings.TrimSuffix(strings.TrimPrefix(f, "samples/"), ".json"))
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(payloads())), topics, "one sample per topic with a payload type")

	for topic, typ := range payloads() {
		t.Run(topic, func(t *testing.T) {
			data := Sample(t, topic)
			require.NoError(t, decodeStrictly(data, typ), "the sample has no field %s lacks", typ)
			var tree any
			require.NoError(t, json.Unmarshal(data, &tree))
			optional := optionalFields(typ, "")
			for _, missing := range absent(typ, tree, "") {
				assert.Contains(t, optional, missing, "%s has a required field the sample lacks", typ)
			}
		})
	}
}

// TestTheDigestRequestCarriesADigest checks the data of the sample
// notification.requested, the low-stock digest, as the sample of a topic
// is checked.
func TestTheDigestRequestCarriesADigest(t *testing.T) {
	var req contracts.NotificationRequestedV1
	require.NoError(t, json.Unmarshal(Sample(t, contracts.TopicNotificationRequested), &req))
	require.Equal(t, contracts.TemplateLowStockDigest, req.Template)
	typ := reflect.TypeFor[contracts.LowStockDigestV1]()
	require.NoError(t, decodeStrictly(req.Data, typ))
	var tree any
	require.NoError(t, json.Unmarshal(req.Data, &tree))
	assert.Empty(t, absent(typ, tree, ""))
}

// optionalFields lists the JSON fields of typ, nested ones included, that
// are tagged omitempty or omitzero, as dotted paths under prefix.
func optionalFields(typ reflect.Type, prefix string) []string {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Time]() {
		return nil
	}
	var out []string
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" }) {
			out = append(out, prefix+name)
		}
		out = append(out, optionalFields(f.Type, prefix+name+".")...)
	}
	return out
}
