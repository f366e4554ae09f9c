package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "notifications", settings{}, program.Run,
		configtest.Malformed{Name: "NOTIFY_MAX_ATTEMPTS", Value: "eight", Problem: "is not an integer"})
}
