package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "gateway", settings{}, program.Run,
		configtest.Malformed{Name: "UPSTREAM_TIMEOUT", Value: "soon", Problem: "is not a duration"})
}
