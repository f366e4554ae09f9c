package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// internalEndpoint is one route an app invokes on another, as the code
// declares it (services/platform/contracts).
type internalEndpoint struct {
	owners []string
	path   string
	verb   string
	caller string
	// subtree: the path is also served with more segments below it.
	subtree bool
}

var internalEndpoints = []internalEndpoint{
	{owners: []string{contracts.AppProducts}, path: contracts.ReservationsPath, verb: "POST", caller: contracts.ReservationsCaller, subtree: true},
	{owners: []string{contracts.AppProducts}, path: contracts.LowStockPath, verb: "GET", caller: contracts.LowStockCaller},
	{owners: []string{contracts.AppOrders}, path: contracts.ExpireOrdersPath, verb: "POST", caller: contracts.ExpireOrdersCaller},
	{owners: []string{contracts.AppPayments}, path: contracts.ReconcilePaymentsPath, verb: "POST", caller: contracts.ReconcilePaymentsCaller},
	{
		owners: []string{contracts.AppAuth, contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications},
		path:   contracts.PurgePath, verb: "POST", caller: contracts.PurgeCaller,
	},
}

// TestAccessPoliciesGrantTheInternalEndpoints ties the access policies to
// the paths the code mounts and invokes: each internal endpoint is granted
// to its one caller in its owner's policy, and a policy grants no internal
// route the code does not declare for that caller.
func TestAccessPoliciesGrantTheInternalEndpoints(t *testing.T) {
	w := loadWorld(t, manifests{})
	for _, problem := range internalGrantProblems(w.localAccess) {
		assert.Fail(t, problem)
	}
}

func TestInternalGrantChecksCatch(t *testing.T) {
	w := loadWorld(t, manifests{})
	products := w.localAccess[contracts.AppProducts].Spec.AccessControl
	for i := range products.Policies {
		pol := &products.Policies[i]
		switch pol.AppID {
		case contracts.AppWorkers: // the digest's grant goes missing
			pol.Operations = slices.DeleteFunc(pol.Operations, func(op aclOperation) bool { return op.Name == contracts.LowStockPath })
		case contracts.AppOrders: // and orders is granted a job of the workers
			pol.Operations = append(pol.Operations, aclOperation{Name: contracts.PurgePath, HTTPVerb: []string{"POST"}, Action: "allow"})
		}
	}
	assert.ElementsMatch(t, []string{
		"products: workers may not GET /internal/inventory/low-stock",
		"products: orders is granted POST /internal/purge, which the code declares for no such caller",
	}, internalGrantProblems(w.localAccess))
}

func internalGrantProblems(access map[string]*configuration) []string {
	var problems []string
	for _, e := range internalEndpoints {
		for _, owner := range e.owners {
			if !granted(access[owner], e.caller, e.path, e.verb) {
				problems = append(problems, fmt.Sprintf("%s: %s may not %s %s", owner, e.caller, e.verb, e.path))
			}
			if e.subtree && !granted(access[owner], e.caller, e.path+"/**", e.verb) {
				problems = append(problems, fmt.Sprintf("%s: %s may not %s %s/**", owner, e.caller, e.verb, e.path))
			}
		}
	}
	for owner, c := range access {
		for _, pol := range c.Spec.AccessControl.Policies {
			for _, op := range pol.Operations {
				if !strings.HasPrefix(op.Name, "/internal/") || op.Action != "allow" {
					continue
				}
				for _, verb := range op.HTTPVerb {
					if !declared(owner, pol.AppID, op.Name, verb) {
						problems = append(problems, fmt.Sprintf("%s: %s is granted %s %s, which the code declares for no such caller", owner, pol.AppID, verb, op.Name))
					}
				}
			}
		}
	}
	return problems
}

func granted(c *configuration, caller, path, verb string) bool {
	for _, pol := range c.Spec.AccessControl.Policies {
		if pol.AppID != caller {
			continue
		}
		for _, op := range pol.Operations {
			if op.Name == path && op.Action == "allow" && slices.Contains(op.HTTPVerb, verb) {
				return true
			}
		}
	}
	return false
}

func declared(owner, caller, name, verb string) bool {
	for _, e := range internalEndpoints {
		if slices.Contains(e.owners, owner) && e.caller == caller && e.verb == verb &&
			(name == e.path || e.subtree && name == e.path+"/**") {
			return true
		}
	}
	return false
}
