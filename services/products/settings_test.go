package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "products", settings{}, program.Run,
		configtest.Malformed{Name: "OUTBOX_RETENTION", Value: "week", Problem: "is not a duration"})
}
