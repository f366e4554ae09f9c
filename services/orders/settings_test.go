package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "orders", settings{}, program.Run,
		configtest.Malformed{Name: "ORDER_PAYMENT_TIMEOUT", Value: "abc", Problem: "is not a duration"})
}
