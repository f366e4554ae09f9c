package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPprofAddrs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "bench.log")
	require.NoError(t, os.WriteFile(log, []byte(`[runner] gateway: app 3000, sidecar HTTP 3500
[gateway] {"time":"2026-11-30T15:41:08Z","level":"INFO","msg":"serving pprof","service":"gateway","addr":"127.0.0.1:41001"}
[orders] {"time":"2026-11-30T15:41:09Z","level":"INFO","msg":"listening","service":"orders","addr":"127.0.0.1:3003"}
[orders] {"time":"2026-11-30T15:41:09Z","level":"INFO","msg":"serving pprof","service":"orders","addr":"127.0.0.1:41002"}
[orders daprd] {"level":"info","msg":"serving pprof"}
`), 0o644))
	addrs, err := pprofAddrs(log)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"gateway": "127.0.0.1:41001", "orders": "127.0.0.1:41002"}, addrs)
}

func TestFileName(t *testing.T) {
	assert.Equal(t, "checkout---paid", fileName("checkout → paid"))
	assert.Equal(t, "order--auth--2", fileName("order (auth)-2"))
}
