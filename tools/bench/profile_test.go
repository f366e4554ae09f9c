package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfileAddrs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "bench.log")
	require.NoError(t, os.WriteFile(log, []byte(`[runner] gateway: app 3000, sidecar HTTP 3500, sidecar metrics 9090, sidecar profiling 3900
[runner] products-2 (app id products): app 3012, sidecar HTTP 3512, sidecar profiling 3912, sidecar metrics 9102
[runner] auth: app 3001, sidecar HTTP 3501, sidecar metrics 9091
[gateway] {"time":"2026-11-30T15:41:08Z","level":"INFO","msg":"serving pprof","service":"gateway","addr":"127.0.0.1:41001"}
[orders] {"time":"2026-11-30T15:41:09Z","level":"INFO","msg":"listening","service":"orders","addr":"127.0.0.1:3003"}
[orders] {"time":"2026-11-30T15:41:09Z","level":"INFO","msg":"serving pprof","service":"orders","addr":"127.0.0.1:41002"}
[orders daprd] {"level":"info","msg":"serving pprof"}
[gateway daprd] {"msg":"sidecar profiling 3999"}
[runner] ready: 7 apps in 5s
`), 0o644))
	addrs, err := profileAddrs(log)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"gateway": "127.0.0.1:41001", "orders": "127.0.0.1:41002",
		"gateway sidecar": "127.0.0.1:3900", "products-2 sidecar": "127.0.0.1:3912",
	}, addrs)
}

func TestFileName(t *testing.T) {
	assert.Equal(t, "checkout---paid", fileName("checkout → paid"))
	assert.Equal(t, "order--auth--2", fileName("order (auth)-2"))
	assert.Equal(t, "checkout---paid-products-2-sidecar", fileName("checkout → paid-products-2 sidecar"))
}
