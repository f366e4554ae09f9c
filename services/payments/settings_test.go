package main

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/config/configtest"
)

func TestConfigurationReference(t *testing.T) {
	configtest.CheckService(t, "payments", settings{}, program.Run,
		configtest.Malformed{Name: "INVOICE_TAX_RATE_BPS", Value: "21%", Problem: "is not an integer"})
}
