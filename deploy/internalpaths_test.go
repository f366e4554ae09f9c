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
// declares it (services/platform/contracts); {id} in path stands for one
// id segment.
type internalEndpoint struct {
	owners []string
	path   string
	verb   string
	caller string
}

var internalEndpoints = []internalEndpoint{
	{owners: []string{contracts.AppProducts}, path: contracts.ReservationsPath, verb: "POST", caller: contracts.ReservationsCaller},
	{owners: []string{contracts.AppProducts}, path: contracts.ReservationsPath + "/{id}/release", verb: "POST", caller: contracts.ReservationsCaller},
	{owners: []string{contracts.AppProducts}, path: contracts.LowStockPath, verb: "GET", caller: contracts.LowStockCaller},
	{owners: []string{contracts.AppOrders}, path: contracts.ExpireOrdersPath, verb: "POST", caller: contracts.ExpireOrdersCaller},
	{owners: []string{contracts.AppPayments}, path: contracts.ReconcilePaymentsPath, verb: "POST", caller: contracts.ReconcilePaymentsCaller},
	{
		owners: []string{contracts.AppAuth, contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications},
		path:   contracts.PurgePath, verb: "POST", caller: contracts.PurgeCaller,
	},
	{owners: deadLetterOwners, path: contracts.DeadLettersPath, verb: "GET", caller: contracts.DeadLettersCaller},
	{owners: deadLetterOwners, path: contracts.DeadLettersPath + "/replay", verb: "POST", caller: contracts.DeadLettersCaller},
	{owners: deadLetterOwners, path: contracts.DeadLettersPath + "/{id}/replay", verb: "POST", caller: contracts.DeadLettersCaller},
}

// retiredEndpoints were served once: no caller may reach them any more.
var retiredEndpoints = []internalEndpoint{
	{owners: []string{contracts.AppProducts}, path: contracts.ReservationsPath + "/{id}/commit", verb: "POST"},
	{owners: []string{contracts.AppProducts}, path: contracts.ReservationsPath + "/{id}", verb: "GET"},
}

// deadLetterOwners serve their dead letters to the workers (the workers
// read their own in process).
var deadLetterOwners = []string{contracts.AppProducts, contracts.AppOrders, contracts.AppPayments, contracts.AppNotifications}

// TestAccessPoliciesGrantTheInternalEndpoints ties the access policies to
// the paths the code mounts and invokes, as Dapr 1.14 decides them: each
// internal endpoint is granted to its one caller in its owner's policy, no
// caller reaches an internal endpoint the code does not declare for it,
// and every internal grant serves one it does.
func TestAccessPoliciesGrantTheInternalEndpoints(t *testing.T) {
	w := loadWorld(t, manifests{})
	for _, problem := range internalGrantProblems(w.localAccess) {
		assert.Fail(t, problem)
	}
	forEachManifestSet(t, func(t *testing.T, m manifests) {
		for _, problem := range internalGrantProblems(m.configurations) {
			assert.Fail(t, problem)
		}
	})
}

func TestInternalGrantChecksCatch(t *testing.T) {
	w := loadWorld(t, manifests{})
	products := w.localAccess[contracts.AppProducts].Spec.AccessControl
	for i := range products.Policies {
		pol := &products.Policies[i]
		switch pol.AppID {
		case contracts.AppWorkers: // the digest's grant goes missing
			pol.Operations = slices.DeleteFunc(pol.Operations, func(op aclOperation) bool { return op.Name == contracts.LowStockPath })
		case contracts.AppOrders: // and orders is granted a job of the workers, and its reservations' subtree
			pol.Operations = append(pol.Operations,
				aclOperation{Name: contracts.PurgePath, HTTPVerb: []string{"POST"}, Action: "allow"},
				aclOperation{Name: contracts.ReservationsPath, HTTPVerb: []string{"POST"}, Action: "allow"})
		}
	}
	assert.ElementsMatch(t, []string{
		"products: workers may not GET /internal/inventory/low-stock",
		"products: orders reaches POST /internal/purge, which the code declares for no such caller",
		"products: orders is granted POST /internal/purge, which serves no endpoint the code declares for it",
		"products: orders reaches POST /internal/reservations/{id}/commit, which the code declares for no such caller",
		// The subtree's entry decides the reservations' paths now.
		"products: orders is granted POST /internal/reservations/*, which serves no endpoint the code declares for it",
		"products: orders is granted POST /internal/reservations/*-*-*-*-*/release, which serves no endpoint the code declares for it",
	}, internalGrantProblems(map[string]*configuration{contracts.AppProducts: w.localAccess[contracts.AppProducts]}))
}

// sampleID fills an endpoint's {id} segment.
const sampleID = "0b9f3c1e-2d4a-4f6b-8c7d-9e0f1a2b3c4d"

func internalGrantProblems(access map[string]*configuration) []string {
	var problems []string
	for owner, c := range access {
		if c == nil || c.Spec.AccessControl == nil {
			continue
		}
		for _, e := range internalEndpoints {
			if slices.Contains(e.owners, owner) && !allows(c, e.caller, e.verb, e.path) {
				problems = append(problems, fmt.Sprintf("%s: %s may not %s %s", owner, e.caller, e.verb, e.path))
			}
		}
		for _, pol := range c.Spec.AccessControl.Policies {
			// Another caller's endpoint, or a retired one. (A caller may
			// reach its own paths with other verbs, where nothing is
			// served: 1.14 grants a listed path's verbs below it too.)
			for _, e := range slices.Concat(internalEndpoints, retiredEndpoints) {
				if slices.Contains(e.owners, owner) && !declaresPath(owner, pol.AppID, e.path) && allows(c, pol.AppID, e.verb, e.path) {
					problems = append(problems, fmt.Sprintf("%s: %s reaches %s %s, which the code declares for no such caller", owner, pol.AppID, e.verb, e.path))
				}
			}
			for _, op := range pol.Operations {
				if !strings.HasPrefix(op.Name, "/internal/") || op.Action != "allow" {
					continue
				}
				for _, verb := range op.HTTPVerb {
					if !servesDeclared(pol.Operations, op, owner, pol.AppID, verb) {
						problems = append(problems, fmt.Sprintf("%s: %s is granted %s %s, which serves no endpoint the code declares for it", owner, pol.AppID, verb, op.Name))
					}
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// declaresPath: the code declares an endpoint at path on owner for caller.
func declaresPath(owner, caller, path string) bool {
	return slices.ContainsFunc(internalEndpoints, func(e internalEndpoint) bool {
		return slices.Contains(e.owners, owner) && e.caller == caller && e.path == path
	})
}

// servesDeclared: operation op of ops decides verb for at least one
// endpoint the code declares for caller on owner.
func servesDeclared(ops []aclOperation, op aclOperation, owner, caller, verb string) bool {
	return slices.ContainsFunc(internalEndpoints, func(e internalEndpoint) bool {
		if !slices.Contains(e.owners, owner) || e.caller != caller || (verb != "*" && e.verb != verb) {
			return false
		}
		d := decidingOperation(ops, strings.ReplaceAll(e.path, "{id}", sampleID))
		return d != nil && d.Name == op.Name
	})
}

// allows reports whether c's access policy lets caller send verb to path
// ({id} filled with a sample id), as daprd 1.14 decides it: the caller's
// deciding operation, or else its policy's default action.
func allows(c *configuration, caller, verb, path string) bool {
	for _, pol := range c.Spec.AccessControl.Policies {
		if pol.AppID != caller {
			continue
		}
		action := pol.DefaultAction
		if op := decidingOperation(pol.Operations, strings.ReplaceAll(path, "{id}", sampleID)); op != nil {
			for _, v := range op.HTTPVerb {
				if v == verb || v == "*" {
					action = op.Action
				}
			}
		}
		return strings.EqualFold(action, "allow")
	}
	return strings.EqualFold(c.Spec.AccessControl.DefaultAction, "allow")
}

// decidingOperation is the operation of ops that decides path in daprd
// 1.14, whose lookup (pkg/config/acl_trie.go) this follows: the
// operations form a tree of path segments, in the order listed; walking
// path down it, each segment takes the first child equal to it, or a
// child `**`, or a glob child matching it (`*` alone only as the last
// segment), and the first node met that is a listed operation decides,
// whatever lies below it. A path ending on an unlisted node falls back to
// its child `*`. Nil: no operation decides.
func decidingOperation(ops []aclOperation, path string) *aclOperation {
	type node struct {
		seg      string
		op       *aclOperation
		children []*node
	}
	root := &node{}
	for i := range ops {
		n := root
		segs := strings.Split(strings.TrimPrefix(strings.ToLower(ops[i].Name), "/"), "/")
		for j, seg := range segs {
			k := slices.IndexFunc(n.children, func(c *node) bool { return c.seg == seg })
			if k < 0 {
				n.children = append(n.children, &node{seg: seg})
				k = len(n.children) - 1
			}
			n = n.children[k]
			if j == len(segs)-1 && n.op == nil {
				n.op = &ops[i]
			}
		}
	}
	find := func(n *node, seg string, last bool) *node {
		for _, c := range n.children {
			switch {
			case c.seg == seg, c.seg == "**":
				return c
			case c.seg == "*":
				if last {
					return c
				}
			case glob(c.seg, seg):
				return c
			}
		}
		return nil
	}
	n := root
	segs := strings.Split(strings.TrimPrefix(strings.ToLower(path), "/"), "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if n = find(n, seg, last); n == nil {
			return nil
		}
		if n.op != nil && (last || n.seg != "*") {
			return n.op
		}
		if n.op == nil && last {
			if w := find(n, "*", true); w != nil {
				return w.op
			}
		}
	}
	return nil
}

// glob matches s against pattern, where `*` stands for any run of
// characters.
func glob(pattern, s string) bool {
	before, after, found := strings.Cut(pattern, "*")
	if !found {
		return pattern == s
	}
	if !strings.HasPrefix(s, before) {
		return false
	}
	for i := len(before); i <= len(s); i++ {
		if glob(after, s[i:]) {
			return true
		}
	}
	return false
}

func TestDecidingOperationFollowsDapr(t *testing.T) {
	ops := []aclOperation{
		{Name: "/internal/reservations/*"},
		{Name: "/internal/reservations/*-*-*-*-*/release"},
		{Name: "/internal/dead-letters"},
		{Name: "/internal/jobs/**"},
	}
	for _, tt := range []struct{ path, want string }{
		{"/internal/reservations", "/internal/reservations/*"},
		{"/internal/reservations/x", "/internal/reservations/*"},
		{"/internal/reservations/" + sampleID + "/release", "/internal/reservations/*-*-*-*-*/release"},
		{"/internal/reservations/" + sampleID + "/commit", ""},
		{"/internal/reservations/not-an-id/release", ""},
		{"/internal/reservations/" + sampleID + "/x/release", ""},
		{"/internal/dead-letters/" + sampleID + "/replay", "/internal/dead-letters"},
		{"/internal/jobs/a/b", "/internal/jobs/**"},
		{"/internal/jobs", "/internal/jobs/**"},
		{"/internal", ""},
	} {
		t.Run(tt.path, func(t *testing.T) {
			got := ""
			if op := decidingOperation(ops, tt.path); op != nil {
				got = op.Name
			}
			assert.Equal(t, tt.want, got)
		})
	}
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
				// The list's entry grants GET only, and an entry below
				// it, shadowed, the replays' POST.
				payments.Policies[i].Operations[j].HTTPVerb = []string{"GET"}
				payments.Policies[i].Operations = append(payments.Policies[i].Operations,
					aclOperation{Name: contracts.DeadLettersPath + "/**", HTTPVerb: []string{"POST"}, Action: "allow"})
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
