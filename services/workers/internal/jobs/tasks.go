package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/daprshop/daprshop/services/platform/contracts"
	"github.com/daprshop/daprshop/services/platform/purge"
)

// Invoker calls another service's method through the Dapr sidecar, within
// the workers' call timeout. A non-2xx answer is an error.
type Invoker interface {
	InvokeMethod(ctx context.Context, appID, methodName, verb string) ([]byte, error)
}

// Publisher publishes an event through the Dapr sidecar.
type Publisher interface {
	PublishEvent(ctx context.Context, pubsubName, topicName string, data any, opts ...dapr.PublishEventOption) error
}

// Counted is a job run by another service: it POSTs to path on appID,
// which answers how many items of each kind it handled ({"cancelled": 3,
// "released": 1}); the job's items are their sum. Such methods are
// idempotent, so a retry, and every replica's cron firing, are harmless.
func Counted(inv Invoker, appID, path string) Job {
	return func(ctx context.Context) (int, error) {
		out, err := invoke(ctx, inv, appID, path, "post")
		if err != nil {
			return 0, err
		}
		var counts map[string]int
		if err := json.Unmarshal(out, &counts); err != nil || len(counts) == 0 {
			return 0, fmt.Errorf("%s %s answered %q, not counts: %v", appID, path, out, err)
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		return n, nil
	}
}

// Purge runs the workers' own purge tasks, then invokes the purge of each
// of apps; one failing does not stop the others. Items are rows deleted.
func Purge(inv Invoker, apps []string, own map[string]purge.Task, now func() time.Time) Job {
	return func(ctx context.Context) (int, error) {
		res, err := purge.Run(ctx, now(), own)
		total, errs := res.Total(), []error{err}
		for _, app := range apps {
			out, err := invoke(ctx, inv, app, contracts.PurgePath, "post")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			var r purge.Result
			if err := json.Unmarshal(out, &r); err != nil {
				errs = append(errs, fmt.Errorf("decode %s purge answer: %w", app, err))
				continue
			}
			total += r.Total()
		}
		return int(total), errors.Join(errs...)
	}
}

// pubsubName is where the low-stock digest goes to.
const pubsubName = "pubsub"

// LowStockDigest reads the products low on stock and, when there are any,
// asks notifications to mail the admins the low_stock_digest. The event id
// names the day and the list, so a second run that day with nothing new (a
// retry, another replica's cron) is deduplicated by notifications instead
// of mailed again.
func LowStockDigest(inv Invoker, pub Publisher, now func() time.Time) Job {
	return func(ctx context.Context) (int, error) {
		out, err := invoke(ctx, inv, contracts.AppProducts, contracts.LowStockPath, "get")
		if err != nil {
			return 0, err
		}
		var low contracts.LowStockDigestV1
		if err := json.Unmarshal(out, &low); err != nil {
			return 0, fmt.Errorf("decode low stock: %w", err)
		}
		if len(low.Items) == 0 {
			return 0, nil
		}
		data, err := json.Marshal(low)
		if err != nil {
			return 0, fmt.Errorf("encode low stock digest: %w", err)
		}
		ask := contracts.NotificationRequestedV1{Template: contracts.TemplateLowStockDigest, Data: data}
		sum := sha256.Sum256(out)
		id := "low-stock-digest-" + now().UTC().Format(time.DateOnly) + "-" + hex.EncodeToString(sum[:8])
		err = pub.PublishEvent(ctx, pubsubName, contracts.TopicNotificationRequested, ask,
			dapr.PublishEventWithMetadata(map[string]string{"cloudevent.id": id}))
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", contracts.TopicNotificationRequested, err)
		}
		return len(low.Items), nil
	}
}

// invoke sends verb to path on appID. Dapr's invocation API names the
// method by the path without its leading slash.
func invoke(ctx context.Context, inv Invoker, appID, path, verb string) ([]byte, error) {
	method := strings.TrimPrefix(path, "/")
	out, err := inv.InvokeMethod(ctx, appID, method, verb)
	if err != nil {
		return nil, fmt.Errorf("invoke %s %s: %w", appID, method, err)
	}
	return out, nil
}
