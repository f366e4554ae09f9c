package server

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServePprof(t *testing.T) {
	addr, stop, err := servePprof("127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + addr.String() + "/debug/pprof/cmdline"
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the profiler answers on its own port")

	stop()
	_, err = http.Get(url)
	assert.Error(t, err, "stopped, nothing listens")
}
