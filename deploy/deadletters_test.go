package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// deliveryRoom is what the deliveries themselves may take, beside the
// backoff between them, within the Redis component's processingTimeout.
const deliveryRoom = 30 * time.Second

// TestRedisHoldsADeliveryThroughItsRetries: daprd 1.14 handles a Redis
// message (inbound retries included) within the component's
// processingTimeout and publishes the dead letter of an exhausted delivery
// within it too; past it the publish fails and the message is
// acknowledged anyway, its dead letter lost. So processingTimeout must
// outlast the pub/sub inbound retry policy's worst-case backoff, with room
// for the deliveries. Checked locally and in the cluster.
func TestRedisHoldsADeliveryThroughItsRetries(t *testing.T) {
	check := func(t *testing.T, pubsub *component, resiliencies map[string]*resiliency) {
		t.Helper()
		require.NotNil(t, pubsub, "a pub/sub component")
		require.Equal(t, "pubsub.redis", pubsub.Spec.Type)
		v, ok := metadataString(pubsub, "processingTimeout")
		require.True(t, ok, "processingTimeout is set")
		processing, err := time.ParseDuration(v)
		require.NoError(t, err)
		checked := 0
		for _, r := range resiliencies {
			target, ok := r.Spec.Targets.Components[pubsub.Metadata.Name]
			if !ok || target.Inbound == nil || target.Inbound.Retry == "" {
				continue
			}
			policy, ok := r.Spec.Policies.Retries[target.Inbound.Retry]
			require.True(t, ok, "retry policy %s of %s", target.Inbound.Retry, r.Metadata.Name)
			require.NotNil(t, policy.MaxRetries, "an inbound retry policy without maxRetries retries forever")
			backoff, err := worstBackoff(policy.Policy, policy.Duration, policy.MaxInterval, *policy.MaxRetries)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, processing, backoff+deliveryRoom,
				"processingTimeout %s: the inbound retries of %s back off up to %s", processing, r.Metadata.Name, backoff)
			checked++
		}
		assert.NotZero(t, checked, "a resiliency policy retries inbound deliveries")
	}

	t.Run("local", func(t *testing.T) {
		var pubsub *component
		for _, d := range loadDir(t, filepath.Join(localComponents, "pubsub", "redis")) {
			if c, ok := d.Obj.(*component); ok && c.Metadata.Name == "pubsub" {
				pubsub = c
			}
		}
		check(t, pubsub, localResiliencies(t))
	})
	forEachManifestSet(t, func(t *testing.T, m manifests) { check(t, m.components["pubsub"], m.resiliencies) })
}

// worstBackoff is the longest a Dapr retry policy waits between its
// deliveries in total: for exponential, the backoff defaults daprd uses
// (0.5 s initial interval, ×1.5 each retry, capped at maxInterval, each
// randomised by up to +50%).
func worstBackoff(policy, duration, maxInterval string, retries int) (time.Duration, error) {
	switch policy {
	case "constant":
		d, err := time.ParseDuration(duration)
		return time.Duration(retries) * d, err
	case "exponential":
		limit := time.Minute // daprd's default maxInterval
		if maxInterval != "" {
			var err error
			if limit, err = time.ParseDuration(maxInterval); err != nil {
				return 0, err
			}
		}
		var total time.Duration
		interval := 500 * time.Millisecond
		for range retries {
			total += min(interval, limit) * 3 / 2
			interval = interval * 3 / 2
		}
		return total, nil
	}
	return 0, fmt.Errorf("retry policy %q", policy)
}

func TestWorstBackoff(t *testing.T) {
	for _, tt := range []struct {
		policy, duration, maxInterval string
		retries                       int
		want                          time.Duration
	}{
		{"constant", "5s", "", 3, 15 * time.Second},
		{"exponential", "", "1s", 3, (500*time.Millisecond + 750*time.Millisecond + time.Second) * 3 / 2},
		{"exponential", "", "30s", 10, 84_997_558_592 * time.Nanosecond},
	} {
		t.Run(fmt.Sprint(tt.policy, tt.maxInterval, tt.retries), func(t *testing.T) {
			got, err := worstBackoff(tt.policy, tt.duration, tt.maxInterval, tt.retries)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, float64(time.Millisecond))
		})
	}
}

// TestWorkersRetryNoAppAnswer: the workers list and replay every service's
// dead letters through their sidecar, and daprd 1.14 retries every app
// answer outside 200-399 of a target with a retry policy, so an unknown
// letter's 404 took seconds. No Resiliency of the workers' sidecar targets
// an app or sets a default app retry: app answers come back at once, and
// daprd's built-in retries of an unreachable sidecar, which apply only to
// apps no policy targets, stay. Checked locally and in the cluster.
func TestWorkersRetryNoAppAnswer(t *testing.T) {
	check := func(t *testing.T, resiliencies map[string]*resiliency) {
		t.Helper()
		scoped := 0
		for name, r := range resiliencies {
			if len(r.Scopes) > 0 && !slices.Contains(r.Scopes, contracts.AppWorkers) {
				continue
			}
			scoped++
			assert.Empty(t, r.Spec.Targets.Apps, "Resiliency %s targets apps from the workers' sidecar", name)
			for policy := range r.Spec.Policies.Retries {
				assert.NotContains(t, []string{"DefaultAppRetryPolicy", "DefaultRetryPolicy"}, policy,
					"Resiliency %s retries every app answer from the workers' sidecar", name)
			}
		}
		assert.NotZero(t, scoped, "a Resiliency applies to the workers' sidecar")
	}
	t.Run("local", func(t *testing.T) { check(t, localResiliencies(t)) })
	forEachManifestSet(t, func(t *testing.T, m manifests) { check(t, m.resiliencies) })
}

// localResiliencies reads the local Resiliency files by name.
func localResiliencies(t *testing.T) map[string]*resiliency {
	t.Helper()
	resiliencies := map[string]*resiliency{}
	for _, d := range loadDir(t, localResiliency) {
		if r, ok := d.Obj.(*resiliency); ok {
			resiliencies[r.Metadata.Name] = r
		}
	}
	return resiliencies
}
