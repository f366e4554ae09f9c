package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSwapListSet(t *testing.T) {
	tests := []struct {
		name, value string
		want        swap
		wantErr     bool
	}{
		{name: "pair", value: "./components/pubsub/redis=./components/pubsub/rabbitmq",
			want: swap{from: "./components/pubsub/redis", to: "./components/pubsub/rabbitmq"}},
		{name: "no equals sign", value: "./components/pubsub/redis", wantErr: true},
		{name: "empty from", value: "=./x", wantErr: true},
		{name: "empty to", value: "./x=", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l swapList
			err := l.Set(tt.value)
			if tt.wantErr {
				require.Error(t, err)
				assert.Empty(t, l)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, swapList{tt.want}, l)
		})
	}
}

func TestApplySwaps(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"components", "pubsub/redis", "pubsub/nats", "state/redis", "state/postgresql"} {
		require.NoError(t, os.MkdirAll(filepath.Join(base, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(base, "file.yaml"), nil, 0o644))
	abs := func(p string) string { return filepath.Join(base, p) }
	newApps := func() []app {
		paths := func() []string { return []string{abs("components"), abs("pubsub/redis"), abs("state/redis")} }
		return []app{{ID: "a", ResourcesPaths: paths()}, {ID: "b", ResourcesPaths: paths()}}
	}

	tests := []struct {
		name    string
		swaps   swapList
		want    []string
		wantErr string
	}{
		{name: "no swap keeps the run file's paths", want: []string{abs("components"), abs("pubsub/redis"), abs("state/redis")}},
		{name: "pub/sub and state swapped",
			swaps: swapList{{from: "./pubsub/redis", to: "pubsub/nats"}, {from: "state/redis", to: abs("state/postgresql")}},
			want:  []string{abs("components"), abs("pubsub/nats"), abs("state/postgresql")}},
		{name: "a path no app uses", swaps: swapList{{from: "pubsub/kafka", to: "pubsub/nats"}},
			wantErr: "swap-resources pubsub/kafka: no app uses this resources path"},
		{name: "a missing target", swaps: swapList{{from: "pubsub/redis", to: "pubsub/rabbitmq"}},
			wantErr: "swap-resources pubsub/rabbitmq: stat"},
		{name: "a file as target", swaps: swapList{{from: "pubsub/redis", to: "file.yaml"}},
			wantErr: "swap-resources file.yaml: not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apps := newApps()
			err := applySwaps(apps, base, tt.swaps)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			for _, a := range apps {
				assert.Equal(t, tt.want, a.ResourcesPaths, a.ID)
			}
		})
	}
}

func TestRunRejectsAnUnusedSwapBeforeStarting(t *testing.T) {
	fake := buildFakeChild(t)
	runFile := writeRunFile(t, fake, testApp{id: "alpha", appPort: freePort(t), daprPort: freePort(t)})

	err := run(t.Context(), []string{"-f", runFile, "-daprd", fake, "-swap-resources", "./pubsub/redis=./components"},
		&syncBuffer{}, os.Getenv)

	require.EqualError(t, err, "swap-resources ./pubsub/redis: no app uses this resources path")
	_, statErr := os.Stat(filepath.Join(filepath.Dir(runFile), "services", "alpha", "app-alpha.pid"))
	require.ErrorIs(t, statErr, os.ErrNotExist, "nothing may start when the input is bad")
}
