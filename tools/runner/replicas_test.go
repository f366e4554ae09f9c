package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicaCountsSet(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    replicaCounts
		wantErr string
	}{
		{name: "one app", values: []string{"products=2"}, want: replicaCounts{"products": 2}},
		{name: "a list", values: []string{"products=2, orders=3"}, want: replicaCounts{"products": 2, "orders": 3}},
		{name: "repeated flags add up", values: []string{"products=2", "orders=1"}, want: replicaCounts{"products": 2, "orders": 1}},
		{name: "no count", values: []string{"products"}, wantErr: "want APP=N"},
		{name: "no app", values: []string{"=2"}, wantErr: "want APP=N"},
		{name: "zero", values: []string{"products=0"}, wantErr: "must be 1 to 10"},
		{name: "too many", values: []string{"products=11"}, wantErr: "must be 1 to 10"},
		{name: "not a number", values: []string{"products=two"}, wantErr: "must be 1 to 10"},
		{name: "an app twice", values: []string{"products=2", "products=3"}, wantErr: "products: given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replicaCounts{}
			var err error
			for _, v := range tt.values {
				if err = got.Set(v); err != nil {
					break
				}
			}
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "orders=3,products=2", replicaCounts{"products": 2, "orders": 3}.String())
}

// blueprintApp is an app laid out as dapr.yaml lays out ours: app port
// 3000+i, sidecar ports 3500+i, 3600+i, 3700+i, metrics 9090+i.
func blueprintApp(id string, i int) app {
	return app{ID: id, Name: id, AppPort: 3000 + i, HTTPPort: 3500 + i, GRPCPort: 3600 + i,
		InternalGRPCPort: 3700 + i, MetricsPort: 9090 + i}
}

func TestExpandReplicas(t *testing.T) {
	gateway, products, orders := blueprintApp("gateway", 0), blueprintApp("products", 2), blueprintApp("orders", 3)
	sentry := sentryOptions{Binary: "sentry", Port: 3800, HealthzPort: 3801}.ports()

	t.Run("each further instance of an app is on its ports plus 10", func(t *testing.T) {
		got, err := expandReplicas([]app{gateway, products, orders}, replicaCounts{"products": 3, "orders": 1}, sentry)
		require.NoError(t, err)
		var lines []string
		for _, inst := range got {
			lines = append(lines, inst.describe())
		}
		assert.Equal(t, []string{
			"gateway: app 3000, sidecar HTTP 3500, sidecar gRPC 3600, sidecar internal gRPC 3700, sidecar metrics 9090",
			"products-1 (app id products): app 3002, sidecar HTTP 3502, sidecar gRPC 3602, sidecar internal gRPC 3702, sidecar metrics 9092",
			"products-2 (app id products): app 3012, sidecar HTTP 3512, sidecar gRPC 3612, sidecar internal gRPC 3712, sidecar metrics 9102",
			"products-3 (app id products): app 3022, sidecar HTTP 3522, sidecar gRPC 3622, sidecar internal gRPC 3722, sidecar metrics 9112",
			"orders: app 3003, sidecar HTTP 3503, sidecar gRPC 3603, sidecar internal gRPC 3703, sidecar metrics 9093",
		}, lines)
		for _, inst := range got[1:4] {
			assert.Equal(t, "products", inst.ID, "one app id, so one identity and one name in name resolution")
			assert.True(t, inst.Replicated)
		}
		assert.False(t, got[0].Replicated)
		assert.False(t, got[4].Replicated)
	})
	t.Run("a sidecar's profiler moves with its instance", func(t *testing.T) {
		profiled := products
		profiled.ProfilePort = profiled.HTTPPort + sidecarProfilePortOffset
		got, err := expandReplicas([]app{profiled}, replicaCounts{"products": 2}, sentry)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "products-2 (app id products): app 3012, sidecar HTTP 3512, sidecar gRPC 3612, sidecar internal gRPC 3712, sidecar metrics 9102, sidecar profiling 3912", got[1].describe())
	})
	t.Run("the most replicas of every app of the blueprint fit, profiled too", func(t *testing.T) {
		var apps []app
		counts := replicaCounts{}
		for i, id := range []string{"gateway", "auth", "products", "orders", "payments", "notifications", "workers"} {
			a := blueprintApp(id, i)
			a.ProfilePort = a.HTTPPort + sidecarProfilePortOffset
			apps = append(apps, a)
			counts[id] = maxReplicas
		}
		got, err := expandReplicas(apps, counts, sentry)
		require.NoError(t, err)
		assert.Len(t, got, 7*maxReplicas)
	})

	tests := []struct {
		name     string
		apps     []app
		replicas replicaCounts
		wantErr  string
	}{
		{name: "an unknown app", apps: []app{products}, replicas: replicaCounts{"catalog": 2}, wantErr: `replicas: no app "catalog"`},
		{
			name: "sidecar ports daprd would choose alike", replicas: replicaCounts{"products": 2},
			apps:    []app{{ID: "products", Name: "products", AppPort: 3002, HTTPPort: 3502}},
			wantErr: `app "products": replicas need daprGRPCPort, daprInternalGRPCPort and metricsPort set`,
		},
		{
			name: "a replica on another app's port", replicas: replicaCounts{"products": 2},
			apps:    []app{products, blueprintApp("search", 12)},
			wantErr: "search app: port 3012 is already products-2 app's",
		},
		{
			name: "a replica on Sentry's port", replicas: replicaCounts{"orders": 10},
			apps:    []app{{ID: "orders", Name: "orders", AppPort: 3710, HTTPPort: 3711, GRPCPort: 3712, InternalGRPCPort: 3713, MetricsPort: 3714}},
			wantErr: "orders-10 app: port 3800 is already Sentry's gRPC's",
		},
		{
			name: "a replica named like another app", replicas: replicaCounts{"products": 2},
			apps:    []app{products, {ID: "products-2", Name: "products-2", AppPort: 4000, HTTPPort: 4001}},
			wantErr: `two instances are named "products-2"`,
		},
		{
			name:    "two apps on one port, replicas or not",
			apps:    []app{gateway, {ID: "auth", Name: "auth", AppPort: 3001, HTTPPort: 3500}},
			wantErr: "auth sidecar HTTP: port 3500 is already gateway sidecar HTTP's",
		},
		{
			name: "a port beyond 65535", replicas: replicaCounts{"products": 2},
			apps:    []app{{ID: "products", Name: "products", AppPort: 65530, HTTPPort: 3502, GRPCPort: 3602, InternalGRPCPort: 3702, MetricsPort: 9092}},
			wantErr: "products-2 app: port 65540 is out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := expandReplicas(tt.apps, tt.replicas, sentry)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// freeBlock returns a port p such that p and p+10 are free, for an app and
// its second replica.
func freeBlock(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := freePort(t)
		if p+replicaPortStep <= 65535 && !listening(p+replicaPortStep) {
			return p
		}
	}
	require.FailNow(t, "no two free ports 10 apart")
	return 0
}

func TestRunReplicas(t *testing.T) {
	fake := buildFakeChild(t)
	// The fake daprd binds only its HTTP port; the others need to be set
	// and distinct.
	alpha := testApp{id: "alpha", appPort: freeBlock(t), daprPort: freeBlock(t),
		extra: "daprGRPCPort: 31001\ndaprInternalGRPCPort: 31002\nmetricsPort: 31003\n"}
	beta := testApp{id: "beta", appPort: freePort(t), daprPort: freePort(t)}
	runFile := writeRunFile(t, fake, alpha, beta)
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	errc := startRunner(ctx, runFile, fake, out, "-ready-timeout", waitFor.String(), "-replicas", "alpha=2")

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "[runner] ready: 2 apps in 3 instances (") },
		waitFor, 20*time.Millisecond, "output so far:\n%s", out)
	second := testApp{id: alpha.id, appPort: alpha.appPort + replicaPortStep, daprPort: alpha.daprPort + replicaPortStep}
	require.Contains(t, out.String(), fmt.Sprintf("[runner] alpha-2 (app id alpha): app %d, sidecar HTTP %d, sidecar gRPC 31011,",
		second.appPort, second.daprPort))
	for _, a := range []testApp{alpha, second, beta} {
		require.True(t, listening(a.appPort), "%s app on %d", a.id, a.appPort)
		require.True(t, listening(a.daprPort), "%s sidecar on %d", a.id, a.daprPort)
	}
	require.Contains(t, out.String(), fmt.Sprintf("[alpha-1] fake app listening on 127.0.0.1:%d", alpha.appPort))
	require.Contains(t, out.String(), fmt.Sprintf("[alpha-2.daprd] fake daprd listening on 127.0.0.1:%d", second.daprPort))

	t.Run("a replica whose app dies is stopped whole", func(t *testing.T) {
		sidecar := readPID(t, runFile, "alpha", roleDaprd, second.daprPort)
		require.NoError(t, syscall.Kill(readPID(t, runFile, "alpha", roleApp, second.appPort), syscall.SIGKILL))
		require.Eventually(t, func() bool { return processGone(sidecar) }, waitFor, 20*time.Millisecond)
		require.Contains(t, out.String(), `[runner] app "alpha-2" (app) exited: signal: killed`)
		require.Contains(t, out.String(), `[runner] stopping the rest of replica "alpha-2"`)
		require.Contains(t, out.String(), "[alpha-2.daprd] fake daprd stopping", "stopped with SIGTERM, so a real daprd deregisters")
		require.True(t, listening(alpha.appPort), "the other replica keeps running")
		require.True(t, listening(alpha.daprPort))
	})
	t.Run("a single instance whose app dies keeps its sidecar", func(t *testing.T) {
		require.NoError(t, syscall.Kill(readPID(t, runFile, "beta", roleApp, beta.appPort), syscall.SIGKILL))
		require.Eventually(t, func() bool {
			return strings.Contains(out.String(), `[runner] app "beta" (app) exited: signal: killed`)
		}, waitFor, 20*time.Millisecond)
		require.True(t, listening(beta.daprPort))
		require.NotContains(t, out.String(), `replica "beta"`)
	})

	cancel()
	require.NoError(t, waitResult(t, errc))
	for _, a := range []testApp{alpha, second, beta} {
		require.False(t, listening(a.appPort), a.id)
		require.False(t, listening(a.daprPort), a.id)
	}
}
