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
	// The list, then the replays: POST below it, and on it too (Dapr 1.14
	// matches the shortest listed prefix; see TestNoGrantIsShadowed).
	{owners: deadLetterOwners, path: contracts.DeadLettersPath, verb: "GET", caller: contracts.DeadLettersCaller},
	{owners: deadLetterOwners, path: contracts.DeadLettersPath, verb: "POST", caller: contracts.DeadLettersCaller, subtree: true},
}

// deadLetterOwners serve their dead letters to the workers (the workers
// read their own in process).
var deadLetterOwners = []string{contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications}

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

// TestNoGrantIsShadowed: Dapr 1.14 looks an invoked path up in a trie of
// the caller's operations and answers with the first listed one it meets
// on the way down (pkg/config/acl_trie.go, Search), so a shorter listed
// prefix decides for every path below it. With /internal/dead-letters
// granted GET only, a POST to /internal/dead-letters/{id}/replay is
// denied, /internal/dead-letters/** notwithstanding. So an operation
// below another of the same caller must grant no verb the one above does
// not.
func TestNoGrantIsShadowed(t *testing.T) {
	check := func(t *testing.T, access map[string]*configuration) {
		t.Helper()
		for _, problem := range shadowedGrants(access) {
			assert.Fail(t, problem)
		}
	}
	t.Run("local", func(t *testing.T) { check(t, loadWorld(t, manifests{}).localAccess) })
	forEachManifestSet(t, func(t *testing.T, m manifests) { check(t, m.configurations) })
}

func TestShadowCheckCatches(t *testing.T) {
	w := loadWorld(t, manifests{})
	payments := w.localAccess[contracts.AppPayments].Spec.AccessControl
	for i := range payments.Policies {
		for j, op := range payments.Policies[i].Operations {
			if op.Name == contracts.DeadLettersPath {
				payments.Policies[i].Operations[j].HTTPVerb = []string{"GET"}
			}
		}
	}
	assert.Equal(t, []string{
		"payments: workers' POST /internal/dead-letters/** is decided by /internal/dead-letters, which grants [GET]",
	}, shadowedGrants(map[string]*configuration{contracts.AppPayments: w.localAccess[contracts.AppPayments]}))
}

func shadowedGrants(access map[string]*configuration) []string {
	var problems []string
	for owner, c := range access {
		if c == nil || c.Spec.AccessControl == nil {
			continue
		}
		for _, pol := range c.Spec.AccessControl.Policies {
			for _, above := range pol.Operations {
				for _, below := range pol.Operations {
					if !strings.HasPrefix(below.Name, strings.TrimSuffix(above.Name, "/")+"/") || strings.HasSuffix(above.Name, "/*") {
						continue
					}
					for _, verb := range below.HTTPVerb {
						if !slices.Contains(above.HTTPVerb, verb) && !slices.Contains(above.HTTPVerb, "*") {
							problems = append(problems, fmt.Sprintf("%s: %s' %s %s is decided by %s, which grants %v",
								owner, pol.AppID, verb, below.Name, above.Name, above.HTTPVerb))
						}
					}
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}
