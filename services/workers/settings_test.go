package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "workers", settings{}, program.Run,
		configtest.Malformed{Name: "PROCESSED_EVENTS_RETENTION", Value: "30", Problem: "is not a duration"})
}
