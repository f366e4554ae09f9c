package contracts

import "slices"

// paypalCurrencies are the currencies PayPal takes payments in (its
// currency codes reference).
var paypalCurrencies = []string{
	"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS",
	"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD",
}

// paypalWholeUnits are the currencies with two decimals in ISO 4217 (as
// the shop prices them) that PayPal takes without decimals.
var paypalWholeUnits = []string{"HUF", "TWD"}

// Restricts tells whether provider refuses some amounts or currencies the
// shop prices in: only then need Payable be asked.
func Restricts(provider string) bool { return provider == PaymentProviderPayPal }

// Payable tells whether provider can charge amountCents of currency, the
// amount in ISO 4217 minor units as the shop keeps every price. Orders
// refuses at checkout what payments could not charge, so both ask here.
// Stripe takes every currency the shop prices in, in its minor units (HUF
// and TWD with their two decimals). PayPal takes only its currencies, and
// HUF and TWD in whole units: an amount with a fraction of a unit cannot
// be sent to it.
func Payable(provider, currency string, amountCents int64) bool {
	if !Restricts(provider) {
		return true
	}
	if !slices.Contains(paypalCurrencies, currency) {
		return false
	}
	return !slices.Contains(paypalWholeUnits, currency) || amountCents%100 == 0
}
