package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "gateway", settings{})
}

func TestMalformedSettingStopsTheStart(t *testing.T) {
	// Nothing is wired: a start would need a sidecar and create a database.
	vars := map[string]string{"UPSTREAM_TIMEOUT": "soon"}
	err := program.Run(context.Background(), func(k string) string { return vars[k] }, io.Discard)
	assert.ErrorContains(t, err, `UPSTREAM_TIMEOUT: "soon" is not a duration`)
}
