package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "auth", settings{}, program.Run,
		configtest.Malformed{Name: "SESSION_RETENTION", Value: "7d", Problem: "is not a duration"})
}
