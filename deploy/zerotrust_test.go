package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The sidecar lock-down, checked on the local resources and on the cluster's:
// scopes on every component, topic scopes on pub/sub, an API allow-list per
// app for both protocols, deny-by-default secret scopes wherever a secret
// store is reachable, secrets RBAC by name only, and per app the same
// Configuration locally and in the cluster.

const (
	localConfigDir = "../config"
	localAccessDir = "../config/access"

	// builtinSecretStore is the store daprd preloads in Kubernetes and the
	// operator resolves secretKeyRefs from.
	builtinSecretStore = "kubernetes"
	// Self-hosted sidecars live in the namespace default.
	localNamespace = "default"
)

// world is everything the lock-down checks read, loaded fresh per test so a
// test may mutate it.
type world struct {
	apps         []string
	localComps   []*component // several files may define one name (brokers)
	localEPs     []*httpEndpoint
	localConfigs map[string]*configuration // config/<app>.yaml
	localAccess  map[string]*configuration // config/access/<app>.yaml
	cluster      manifests
}

func loadWorld(t *testing.T, cluster manifests) world {
	t.Helper()
	w := world{localConfigs: map[string]*configuration{}, localAccess: map[string]*configuration{}, cluster: cluster}
	for _, a := range loadRunApps(t) {
		w.apps = append(w.apps, a.AppID)
		w.localConfigs[a.AppID] = loadConfiguration(t, filepath.Join(localConfigDir, a.AppID+".yaml"))
		w.localAccess[a.AppID] = loadConfiguration(t, filepath.Join(localAccessDir, a.AppID+".yaml"))
	}
	for _, file := range yamlFiles(t, localComponents) {
		data, err := os.ReadFile(filepath.Join(localComponents, file))
		require.NoError(t, err)
		raws, err := splitYAML(data)
		require.NoError(t, err, file)
		for _, raw := range raws {
			var tm typeMeta
			require.NoError(t, yaml.Unmarshal(raw, &tm), file)
			switch tm.Kind {
			case "Component":
				var c component
				require.NoError(t, unmarshalStrict(raw, &c), file)
				w.localComps = append(w.localComps, &c)
			case "HTTPEndpoint":
				var e httpEndpoint
				require.NoError(t, unmarshalStrict(raw, &e), file)
				w.localEPs = append(w.localEPs, &e)
			}
		}
	}
	require.NotEmpty(t, w.localComps)
	return w
}

func loadConfiguration(t *testing.T, file string) *configuration {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var c configuration
	require.NoError(t, unmarshalStrict(data, &c), file)
	return &c
}

func (w world) clusterComps() []*component {
	out := make([]*component, 0, len(w.cluster.components))
	for _, name := range keys(w.cluster.components) {
		out = append(out, w.cluster.components[name])
	}
	return out
}

func (w world) clusterEPs() []*httpEndpoint {
	out := make([]*httpEndpoint, 0, len(w.cluster.httpEndpoints))
	for _, name := range keys(w.cluster.httpEndpoints) {
		out = append(out, w.cluster.httpEndpoints[name])
	}
	return out
}

// problems runs every lock-down check; each line names what is wrong.
func (w world) problems() []string {
	var p []string
	for _, side := range []struct {
		name    string
		comps   []*component
		eps     []*httpEndpoint
		configs map[string]*configuration
		builtin map[string]bool // apps whose sidecar preloads the kubernetes store
	}{
		{"local", w.localComps, w.localEPs, w.localConfigs, nil},
		{"cluster", w.clusterComps(), w.clusterEPs(), w.cluster.configurations, w.builtinStoreApps()},
	} {
		prefix := func(ps []string) []string {
			for i := range ps {
				ps[i] = side.name + ": " + ps[i]
			}
			return ps
		}
		p = append(p, prefix(scopeProblems(side.comps, side.eps))...)
		for _, c := range side.comps {
			p = append(p, prefix(pubsubScopeProblems(c))...)
		}
		for _, app := range w.apps {
			p = append(p, prefix(apiAllowListProblems(app, side.configs[app]))...)
		}
		p = append(p, prefix(secretStoreProblems(w.apps, side.comps, side.eps, side.configs, side.builtin))...)
	}
	for _, app := range w.apps {
		p = append(p, configDriftProblems(app, w.cluster.configurations[app], w.localConfigs[app], w.localAccess[app])...)
	}
	p = append(p, trustDomainProblems(w.apps, w.cluster.configurations)...)
	p = append(p, componentDriftProblems(w.localComps, w.cluster.components)...)
	p = append(p, roleProblems(w.cluster.roles)...)
	p = append(p, secretRBACProblems(w.apps, w.cluster, w.clusterComps())...)
	return p
}

// builtinStoreApps lists the apps whose Deployment leaves daprd's built-in
// kubernetes secret store on.
func (w world) builtinStoreApps() map[string]bool {
	on := map[string]bool{}
	for _, d := range w.cluster.deployments {
		ann := d.Spec.Template.Annotations
		if ann["dapr.io/disable-builtin-k8s-secret-store"] != "true" {
			on[ann["dapr.io/app-id"]] = true
		}
	}
	return on
}

// scopeProblems: an unscoped component or endpoint is loaded by every sidecar.
func scopeProblems(comps []*component, eps []*httpEndpoint) []string {
	var p []string
	for _, c := range comps {
		if len(c.Scopes) == 0 {
			p = append(p, fmt.Sprintf("Component %s (%s) has no scopes", c.Metadata.Name, c.Spec.Type))
		}
	}
	for _, e := range eps {
		if len(e.Scopes) == 0 {
			p = append(p, fmt.Sprintf("HTTPEndpoint %s has no scopes", e.Metadata.Name))
		}
	}
	return p
}

// topicScopes parses "app1=t1,t2;app2=" into app → topics.
func topicScopes(v string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, entry := range strings.Split(v, ";") {
		app, topics, ok := strings.Cut(entry, "=")
		if !ok || strings.TrimSpace(app) == "" {
			return nil, fmt.Errorf("entry %q is not app=topics", entry)
		}
		out[strings.TrimSpace(app)] = nil
		for _, t := range strings.Split(topics, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out[strings.TrimSpace(app)] = append(out[strings.TrimSpace(app)], t)
			}
		}
	}
	return out, nil
}

func metadataString(c *component, name string) (string, bool) {
	for _, md := range c.Spec.Metadata {
		if md.Name == name {
			s, ok := md.Value.(string)
			return s, ok
		}
	}
	return "", false
}

// pubsubScopeProblems: an app left out of publishingScopes or
// subscriptionScopes may use every topic.
func pubsubScopeProblems(c *component) []string {
	if !strings.HasPrefix(c.Spec.Type, "pubsub.") {
		return nil
	}
	var p []string
	for _, key := range []string{"publishingScopes", "subscriptionScopes"} {
		v, ok := metadataString(c, key)
		if !ok || v == "" {
			p = append(p, fmt.Sprintf("pub/sub %s (%s) has no %s", c.Metadata.Name, c.Spec.Type, key))
			continue
		}
		scopes, err := topicScopes(v)
		if err != nil {
			p = append(p, fmt.Sprintf("pub/sub %s (%s) %s: %v", c.Metadata.Name, c.Spec.Type, key, err))
			continue
		}
		for _, app := range c.Scopes {
			if _, ok := scopes[app]; !ok {
				p = append(p, fmt.Sprintf("pub/sub %s (%s): %s is missing from %s, so it may use every topic", c.Metadata.Name, c.Spec.Type, app, key))
			}
		}
	}
	return p
}

// apiAllowListProblems: without an allow-list every API is open, and a
// protocol without rules stays fully open.
func apiAllowListProblems(app string, c *configuration) []string {
	if c == nil {
		return []string{fmt.Sprintf("no Configuration for %s", app)}
	}
	if c.Spec.API == nil || len(c.Spec.API.Allowed) == 0 {
		return []string{fmt.Sprintf("Configuration %s has no api allow-list", app)}
	}
	byProtocol := map[string][]string{}
	for _, r := range c.Spec.API.Allowed {
		byProtocol[strings.ToLower(r.Protocol)] = append(byProtocol[strings.ToLower(r.Protocol)], r.Name)
	}
	var p []string
	for _, proto := range []string{"http", "grpc"} {
		if len(byProtocol[proto]) == 0 {
			p = append(p, fmt.Sprintf("Configuration %s allows no %s API: that protocol stays fully open", app, proto))
		}
	}
	for _, pair := range [][2]string{{"http", "grpc"}, {"grpc", "http"}} {
		for _, name := range byProtocol[pair[0]] {
			if len(byProtocol[pair[1]]) > 0 && !slices.Contains(byProtocol[pair[1]], name) {
				p = append(p, fmt.Sprintf("Configuration %s allows %s over %s but not over %s", app, name, pair[0], pair[1]))
			}
		}
	}
	return p
}

func scopeFor(c *configuration, store string) *secretScope {
	if c == nil || c.Spec.Secrets == nil {
		return nil
	}
	for i := range c.Spec.Secrets.Scopes {
		if c.Spec.Secrets.Scopes[i].StoreName == store {
			return &c.Spec.Secrets.Scopes[i]
		}
	}
	return nil
}

// loaders returns the apps whose sidecar loads a resource with these scopes.
func loaders(apps, scopes []string) []string {
	if len(scopes) == 0 {
		return apps
	}
	return scopes
}

// secretStoreProblems: wherever a sidecar can reach a secret store (it loads
// the store, or a component that references it), the app's secret scope for
// that store must deny by default; and a referenced store must be loaded by
// every app that loads the referencing component. The built-in kubernetes
// store is resolved by the operator, so it only matters where daprd preloads
// it (builtin).
func secretStoreProblems(apps []string, comps []*component, eps []*httpEndpoint, configs map[string]*configuration, builtin map[string]bool) []string {
	stores := map[string]*component{}
	for _, c := range comps {
		if strings.HasPrefix(c.Spec.Type, "secretstores.") {
			stores[c.Metadata.Name] = c
		}
	}
	type reference struct {
		what, store string
		scopes      []string
	}
	var refs []reference
	for _, c := range comps {
		for _, md := range c.Spec.Metadata {
			if md.SecretKeyRef != nil {
				refs = append(refs, reference{"Component " + c.Metadata.Name, authStore(c.Auth), c.Scopes})
				break
			}
		}
	}
	for _, e := range eps {
		for _, h := range e.Spec.Headers {
			if h.SecretKeyRef != nil {
				refs = append(refs, reference{"HTTPEndpoint " + e.Metadata.Name, authStore(e.Auth), e.Scopes})
				break
			}
		}
	}

	var p []string
	mustDeny := func(app, store, why string) {
		s := scopeFor(configs[app], store)
		if s == nil || s.DefaultAccess != "deny" {
			p = append(p, fmt.Sprintf("%s reaches the secret store %s (%s) but its secret scope for it does not deny by default", app, store, why))
		}
	}
	for name, s := range stores {
		for _, app := range loaders(apps, s.Scopes) {
			mustDeny(app, name, "loads it")
		}
	}
	for app := range builtin {
		mustDeny(app, builtinSecretStore, "daprd preloads it")
	}
	for _, r := range refs {
		for _, app := range loaders(apps, r.scopes) {
			if r.store == builtinSecretStore {
				if builtin != nil {
					continue // the operator resolves it; the preloaded store is checked above
				}
				p = append(p, fmt.Sprintf("%s references the store kubernetes, which exists only in a cluster", r.what))
				continue
			}
			s, ok := stores[r.store]
			switch {
			case !ok:
				p = append(p, fmt.Sprintf("%s references the secret store %q, which is not defined", r.what, r.store))
			case !slices.Contains(loaders(apps, s.Scopes), app):
				p = append(p, fmt.Sprintf("%s is loaded by %s, but its secret store %s is not in %s's scopes", r.what, app, r.store, app))
			}
			mustDeny(app, r.store, r.what+" references it")
		}
	}
	sort.Strings(p)
	return p
}

func authStore(a *authRef) string {
	if a == nil {
		return ""
	}
	return a.SecretStore
}

// normalizedAccess is an accessControl with each policy's namespace checked
// against want and then dropped, so local and cluster policies compare.
func normalizedAccess(a *accessControlSpec, want string) (*accessControlSpec, []string) {
	if a == nil {
		return nil, nil
	}
	var p []string
	out := *a
	out.Policies = nil
	for _, pol := range a.Policies {
		if pol.Namespace != want {
			p = append(p, fmt.Sprintf("policy for %s has namespace %q, want %q", pol.AppID, pol.Namespace, want))
		}
		pol.Namespace = ""
		out.Policies = append(out.Policies, pol)
	}
	sort.Slice(out.Policies, func(i, j int) bool { return out.Policies[i].AppID < out.Policies[j].AppID })
	return &out, p
}

func sortedRules(rs []apiRule) []apiRule {
	out := slices.Clone(rs)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// configDriftProblems: the cluster Configuration of an app holds what its
// local config/<app>.yaml and config/access/<app>.yaml hold.
func configDriftProblems(app string, cluster, local, access *configuration) []string {
	if cluster == nil || local == nil || access == nil {
		return []string{fmt.Sprintf("%s: a Configuration is missing (cluster %t, local %t, access %t)", app, cluster != nil, local != nil, access != nil)}
	}
	var p []string
	var localAPI, clusterAPI apiSpec
	if local.Spec.API != nil {
		localAPI = apiSpec{Allowed: sortedRules(local.Spec.API.Allowed), Denied: sortedRules(local.Spec.API.Denied)}
	}
	if cluster.Spec.API != nil {
		clusterAPI = apiSpec{Allowed: sortedRules(cluster.Spec.API.Allowed), Denied: sortedRules(cluster.Spec.API.Denied)}
	}
	if !reflect.DeepEqual(localAPI, clusterAPI) {
		p = append(p, fmt.Sprintf("%s: api differs: local %+v, cluster %+v", app, localAPI, clusterAPI))
	}
	if !reflect.DeepEqual(local.Spec.Secrets, cluster.Spec.Secrets) {
		p = append(p, fmt.Sprintf("%s: secrets.scopes differ: local %+v, cluster %+v", app, local.Spec.Secrets, cluster.Spec.Secrets))
	}
	want, lp := normalizedAccess(access.Spec.AccessControl, localNamespace)
	got, cp := normalizedAccess(cluster.Spec.AccessControl, namespace)
	for _, s := range lp {
		p = append(p, app+" (local): "+s)
	}
	for _, s := range cp {
		p = append(p, app+" (cluster): "+s)
	}
	if want == nil || want.DefaultAction != "deny" {
		p = append(p, fmt.Sprintf("%s: local accessControl must deny by default", app))
	}
	if !reflect.DeepEqual(want, got) {
		p = append(p, fmt.Sprintf("%s: accessControl differs: local %+v, cluster %+v", app, want, got))
	}
	return p
}

// trustDomainProblems: Sentry gives a caller the trust domain of its own
// Configuration, so a policy naming it must use that one.
func trustDomainProblems(apps []string, configs map[string]*configuration) []string {
	own := map[string]string{}
	for _, app := range apps {
		if c := configs[app]; c != nil && c.Spec.AccessControl != nil && c.Spec.AccessControl.TrustDomain != "" {
			own[app] = c.Spec.AccessControl.TrustDomain
		} else {
			own[app] = "public" // Sentry's default
		}
	}
	var p []string
	for _, app := range apps {
		c := configs[app]
		if c == nil || c.Spec.AccessControl == nil {
			continue
		}
		for _, pol := range c.Spec.AccessControl.Policies {
			if td, ok := own[pol.AppID]; !ok {
				p = append(p, fmt.Sprintf("%s's policy names %s, which is no app", app, pol.AppID))
			} else if pol.TrustDomain != td {
				p = append(p, fmt.Sprintf("%s's policy for %s names trust domain %q, but %s's identity is in %q", app, pol.AppID, pol.TrustDomain, pol.AppID, td))
			}
		}
	}
	return p
}

// componentDriftProblems: a cluster component is loaded by the same apps,
// with the same topic scopes, as every local file of that name.
func componentDriftProblems(local []*component, cluster map[string]*component) []string {
	var p []string
	for _, l := range local {
		c, ok := cluster[l.Metadata.Name]
		if !ok {
			continue // reported by TestDaprResources
		}
		if !reflect.DeepEqual(slices.Sorted(slices.Values(l.Scopes)), slices.Sorted(slices.Values(c.Scopes))) {
			p = append(p, fmt.Sprintf("Component %s: scopes %v locally (%s), %v in the cluster", l.Metadata.Name, l.Scopes, l.Spec.Type, c.Scopes))
		}
		for _, key := range []string{"publishingScopes", "subscriptionScopes", "allowedTopics", "protectedTopics"} {
			lv, _ := metadataString(l, key)
			cv, _ := metadataString(c, key)
			if lv != cv {
				p = append(p, fmt.Sprintf("Component %s: %s %q locally (%s), %q in the cluster", l.Metadata.Name, key, lv, l.Spec.Type, cv))
			}
		}
	}
	return p
}

func grantsSecrets(r rbacv1.PolicyRule) bool {
	return (slices.Contains(r.APIGroups, "") || slices.Contains(r.APIGroups, "*")) &&
		(slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "*"))
}

// roleProblems: a rule on secrets names them and only gets them (list and
// watch cannot be limited to names).
func roleProblems(roles []*rbacv1.Role) []string {
	var p []string
	for _, role := range roles {
		for i, r := range role.Rules {
			if !grantsSecrets(r) {
				continue
			}
			if len(r.ResourceNames) == 0 {
				p = append(p, fmt.Sprintf("Role %s rule %d grants secrets without resourceNames", role.Name, i))
			}
			for _, v := range r.Verbs {
				if v != "get" {
					p = append(p, fmt.Sprintf("Role %s rule %d grants %q on secrets", role.Name, i, v))
				}
			}
		}
	}
	return p
}

// secretRBACProblems: each app's ServiceAccount may get exactly the secrets
// its secret scopes allow from the kubernetes-backed stores it loads, and
// nothing when it loads none.
func secretRBACProblems(apps []string, m manifests, comps []*component) []string {
	roles := map[string]*rbacv1.Role{}
	for _, r := range m.roles {
		roles[r.Name] = r
	}
	granted := map[string][]string{} // ServiceAccount → secret names
	for _, b := range m.roleBindings {
		role, ok := roles[b.RoleRef.Name]
		if b.RoleRef.Kind != "Role" || !ok {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind {
				continue
			}
			for _, r := range role.Rules {
				if grantsSecrets(r) {
					granted[s.Name] = append(granted[s.Name], r.ResourceNames...)
				}
			}
		}
	}
	serviceAccount := map[string]string{}
	for _, d := range m.deployments {
		serviceAccount[d.Spec.Template.Annotations["dapr.io/app-id"]] = d.Spec.Template.Spec.ServiceAccountName
	}
	var p []string
	for _, app := range apps {
		var want []string
		for _, c := range comps {
			if c.Spec.Type == "secretstores.kubernetes" && slices.Contains(loaders(apps, c.Scopes), app) {
				if s := scopeFor(m.configurations[app], c.Metadata.Name); s != nil {
					want = append(want, s.AllowedSecrets...)
				}
			}
		}
		got := granted[serviceAccount[app]]
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(slices.Compact(want), slices.Compact(got)) {
			p = append(p, fmt.Sprintf("ServiceAccount of %s may get secrets %v, its secret scopes allow %v", app, got, want))
		}
	}
	return p
}

// TestSidecarLockDown runs every check on the local resources and on the
// cluster's, as written and as each overlay renders them.
func TestSidecarLockDown(t *testing.T) {
	forEachManifestSet(t, func(t *testing.T, m manifests) {
		assert.Empty(t, loadWorld(t, m).problems())
	})
}

// TestSidecarLockDownChecksCatch proves each check fails: every case breaks
// one thing in the real resources and expects a problem naming it.
func TestSidecarLockDownChecksCatch(t *testing.T) {
	comp := func(w *world, name string) *component { return w.cluster.components[name] }
	localComp := func(w *world, name string) *component {
		for _, c := range w.localComps {
			if c.Metadata.Name == name {
				return c
			}
		}
		panic("no local component " + name)
	}
	dropMetadata := func(c *component, key string) {
		c.Spec.Metadata = slices.DeleteFunc(slices.Clone(c.Spec.Metadata), func(md metadataItem) bool { return md.Name == key })
	}
	setMetadata := func(c *component, key, value string) {
		for i := range c.Spec.Metadata {
			if c.Spec.Metadata[i].Name == key {
				c.Spec.Metadata[i].Value = value
			}
		}
	}
	cases := []struct {
		name   string
		mutate func(w *world)
		want   string
	}{
		{"cluster component without scopes", func(w *world) { comp(w, "cache").Scopes = nil }, "cluster: Component cache (state.redis) has no scopes"},
		{"local component without scopes", func(w *world) { localComp(w, "email").Scopes = nil }, "local: Component email (bindings.smtp) has no scopes"},
		{"endpoint without scopes", func(w *world) { w.cluster.httpEndpoints["stripe"].Scopes = nil }, "HTTPEndpoint stripe has no scopes"},
		{"pub/sub without publishingScopes", func(w *world) { dropMetadata(comp(w, "pubsub"), "publishingScopes") }, "has no publishingScopes"},
		{"local pub/sub without subscriptionScopes", func(w *world) { dropMetadata(localComp(w, "pubsub"), "subscriptionScopes") }, "local: pub/sub pubsub"},
		{"app of the scopes missing from subscriptionScopes", func(w *world) {
			setMetadata(comp(w, "pubsub"), "subscriptionScopes", "auth=;products=order.paid")
		}, "orders is missing from subscriptionScopes"},
		{"app added to scopes only", func(w *world) { c := comp(w, "pubsub"); c.Scopes = append(c.Scopes, "gateway") }, "gateway is missing from publishingScopes"},
		{"no api allow-list", func(w *world) { w.cluster.configurations["orders"].Spec.API = nil }, "Configuration orders has no api allow-list"},
		{"api allow-list without grpc", func(w *world) {
			c := w.localConfigs["gateway"]
			c.Spec.API.Allowed = slices.DeleteFunc(slices.Clone(c.Spec.API.Allowed), func(r apiRule) bool { return r.Protocol == "grpc" })
		}, "local: Configuration gateway allows no grpc API"},
		{"api allowed over http only", func(w *world) {
			c := w.cluster.configurations["auth"]
			c.Spec.API.Allowed = append(slices.Clone(c.Spec.API.Allowed), apiRule{Name: "metadata", Version: "v1", Protocol: "http"})
		}, "allows metadata over http but not over grpc"},
		{"secret store loaded where secrets are allowed by default", func(w *world) {
			scopeFor(w.cluster.configurations["auth"], "secretstore").DefaultAccess = "allow"
		}, "auth reaches the secret store secretstore (loads it)"},
		{"referenced secret store, scope missing", func(w *world) {
			w.localConfigs["payments"].Spec.Secrets = nil
		}, "payments reaches the secret store secretstore (HTTPEndpoint stripe references it)"},
		{"referenced secret store not loaded", func(w *world) { localComp(w, "secretstore").Scopes = []string{"auth"} }, "HTTPEndpoint stripe is loaded by payments, but its secret store secretstore is not in payments's scopes"},
		{"built-in store left on", func(w *world) {
			w.cluster.deployments[0].Spec.Template.Annotations["dapr.io/disable-builtin-k8s-secret-store"] = "false"
		}, "(daprd preloads it)"},
		{"cluster api differs", func(w *world) {
			c := w.cluster.configurations["workers"]
			c.Spec.API.Allowed = append(slices.Clone(c.Spec.API.Allowed), apiRule{Name: "secrets", Version: "v1", Protocol: "http"}, apiRule{Name: "secrets", Version: "v1", Protocol: "grpc"})
		}, "workers: api differs"},
		{"cluster secret scopes differ", func(w *world) {
			s := scopeFor(w.cluster.configurations["payments"], "secretstore")
			s.AllowedSecrets = append(slices.Clone(s.AllowedSecrets), "jwt-signing-key")
		}, "payments: secrets.scopes differ"},
		{"cluster policy allows more", func(w *world) {
			ops := &w.cluster.configurations["orders"].Spec.AccessControl.Policies[0].Operations
			*ops = append(slices.Clone(*ops), aclOperation{Name: "/internal/**", HTTPVerb: []string{"*"}, Action: "allow"})
		}, "orders: accessControl differs"},
		{"cluster policy in the local namespace", func(w *world) {
			w.cluster.configurations["products"].Spec.AccessControl.Policies[0].Namespace = localNamespace
		}, `products (cluster): policy for gateway has namespace "default", want "daprshop"`},
		{"caller in another trust domain", func(w *world) {
			w.cluster.configurations["workers"].Spec.AccessControl.TrustDomain = "cluster.local"
		}, `orders's policy for workers names trust domain "public", but workers's identity is in "cluster.local"`},
		{"cluster component scopes differ", func(w *world) { comp(w, "statestore").Scopes = []string{"orders", "products"} }, "Component statestore: scopes"},
		{"cluster topic scopes differ", func(w *world) {
			setMetadata(comp(w, "pubsub"), "publishingScopes", "auth=user.registered,order.paid;products=;orders=;payments=;notifications=;workers=")
		}, "Component pubsub: publishingScopes"},
		{"Role on secrets without names", func(w *world) { w.cluster.roles[0].Rules[0].ResourceNames = nil }, "grants secrets without resourceNames"},
		{"Role lists secrets", func(w *world) {
			w.cluster.roles[0].Rules[0].Verbs = append(slices.Clone(w.cluster.roles[0].Rules[0].Verbs), "list")
		}, `grants "list" on secrets`},
		{"Role on every resource", func(w *world) {
			w.cluster.roles = append(w.cluster.roles, &rbacv1.Role{Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get"}}}})
		}, "grants secrets without resourceNames"},
		{"ServiceAccount bound to another app's secrets", func(w *world) {
			b := w.cluster.roleBindings[0]
			b.Subjects = append(slices.Clone(b.Subjects), rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "products", Namespace: namespace})
		}, "ServiceAccount of products may get secrets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := loadWorld(t, loadManifests(t, loadDir(t, manifestsDir)))
			require.Empty(t, w.problems(), "the real resources pass")
			tc.mutate(&w)
			p := w.problems()
			require.NotEmpty(t, p)
			assert.Contains(t, strings.Join(p, "\n"), tc.want)
		})
	}
}
