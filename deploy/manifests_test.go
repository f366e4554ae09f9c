package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Paths are relative to this package, so the test runs from any checkout.
const (
	manifestsDir    = "kubernetes" // the Kustomize base
	overlaysDir     = "overlays"
	observeDir      = "observability"
	daprRunFile     = "../dapr.yaml"
	localResiliency = "../resiliency"
	localComponents = "../components"

	namespace      = "daprshop"
	kustomization  = "kustomization.yaml"
	exampleSecrets = "secrets.example.yaml"
)

// Apps that own no database; every other app gets DATABASE_URL.
var noDatabase = map[string]bool{"gateway": true}

// ---------------------------------------------------------------------------
// Dapr resources. The Dapr CRD Go types drag in the whole runtime, so these
// mirror only the fields we use; strict decoding makes any other field fail.

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type secretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type metadataItem struct {
	Name         string        `json:"name"`
	Value        any           `json:"value,omitempty"`
	SecretKeyRef *secretKeyRef `json:"secretKeyRef,omitempty"`
}

// authRef names the secret store a resource's secretKeyRefs resolve from.
type authRef struct {
	SecretStore string `json:"secretStore"`
}

type component struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Type         string         `json:"type"`
		Version      string         `json:"version"`
		IgnoreErrors bool           `json:"ignoreErrors,omitempty"`
		InitTimeout  string         `json:"initTimeout,omitempty"`
		Metadata     []metadataItem `json:"metadata"`
	} `json:"spec"`
	Auth   *authRef `json:"auth,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

type configuration struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Tracing *struct {
			SamplingRate string `json:"samplingRate"`
			Stdout       bool   `json:"stdout,omitempty"`
			Otel         *struct {
				EndpointAddress string `json:"endpointAddress"`
				IsSecure        bool   `json:"isSecure"`
				Protocol        string `json:"protocol"`
			} `json:"otel,omitempty"`
			Zipkin *struct {
				EndpointAddress string `json:"endpointAddress"`
			} `json:"zipkin,omitempty"`
		} `json:"tracing,omitempty"`
		Metrics *struct {
			Enabled *bool `json:"enabled"`
			HTTP    *struct {
				IncreasedCardinality *bool    `json:"increasedCardinality,omitempty"`
				PathMatching         []string `json:"pathMatching,omitempty"`
				ExcludeVerbs         *bool    `json:"excludeVerbs,omitempty"`
			} `json:"http,omitempty"`
			RecordErrorCodes bool `json:"recordErrorCodes,omitempty"`
		} `json:"metrics,omitempty"`
		// Decoded so the test can refuse it: the cluster resolves through DNS.
		NameResolution *struct {
			Component     string         `json:"component"`
			Version       string         `json:"version"`
			Configuration map[string]any `json:"configuration"`
		} `json:"nameResolution,omitempty"`
		Features []struct {
			Name    string `json:"name"`
			Enabled bool   `json:"enabled"`
		} `json:"features,omitempty"`
		API           *apiSpec           `json:"api,omitempty"`
		Secrets       *secretsSpec       `json:"secrets,omitempty"`
		AccessControl *accessControlSpec `json:"accessControl,omitempty"`
		// Read by the control plane from dapr-system/daprsystem only.
		MTLS *struct {
			Enabled          bool   `json:"enabled"`
			WorkloadCertTTL  string `json:"workloadCertTTL,omitempty"`
			AllowedClockSkew string `json:"allowedClockSkew,omitempty"`
		} `json:"mtls,omitempty"`
	} `json:"spec"`
}

// apiSpec is a Configuration's Dapr API allow-list (and deny-list).
type apiSpec struct {
	Allowed []apiRule `json:"allowed,omitempty"`
	Denied  []apiRule `json:"denied,omitempty"`
}

type apiRule struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Protocol string `json:"protocol"`
}

type secretsSpec struct {
	Scopes []secretScope `json:"scopes"`
}

// secretScope limits what an app may read from one store through the
// secrets API.
type secretScope struct {
	StoreName      string   `json:"storeName"`
	DefaultAccess  string   `json:"defaultAccess,omitempty"`
	AllowedSecrets []string `json:"allowedSecrets,omitempty"`
	DeniedSecrets  []string `json:"deniedSecrets,omitempty"`
}

// accessControlSpec says which callers (by mTLS identity) may invoke which
// routes of the app.
type accessControlSpec struct {
	DefaultAction string      `json:"defaultAction"`
	TrustDomain   string      `json:"trustDomain"`
	Policies      []aclPolicy `json:"policies"`
}

type aclPolicy struct {
	AppID         string         `json:"appId"`
	DefaultAction string         `json:"defaultAction"`
	TrustDomain   string         `json:"trustDomain"`
	Namespace     string         `json:"namespace"`
	Operations    []aclOperation `json:"operations"`
}

type aclOperation struct {
	Name     string   `json:"name"`
	HTTPVerb []string `json:"httpVerb"`
	Action   string   `json:"action"`
}

type policyRefs struct {
	Timeout        string `json:"timeout,omitempty"`
	Retry          string `json:"retry,omitempty"`
	CircuitBreaker string `json:"circuitBreaker,omitempty"`
}

type resiliency struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Scopes     []string   `json:"scopes,omitempty"`
	Spec       struct {
		Policies struct {
			Timeouts map[string]string `json:"timeouts,omitempty"`
			Retries  map[string]struct {
				Policy      string `json:"policy"`
				Duration    string `json:"duration,omitempty"`
				MaxInterval string `json:"maxInterval,omitempty"`
				MaxRetries  *int   `json:"maxRetries,omitempty"`
			} `json:"retries,omitempty"`
			CircuitBreakers map[string]struct {
				MaxRequests int    `json:"maxRequests,omitempty"`
				Interval    string `json:"interval,omitempty"`
				Timeout     string `json:"timeout,omitempty"`
				Trip        string `json:"trip,omitempty"`
			} `json:"circuitBreakers,omitempty"`
		} `json:"policies"`
		Targets struct {
			Apps       map[string]policyRefs `json:"apps,omitempty"`
			Components map[string]struct {
				Outbound *policyRefs `json:"outbound,omitempty"`
				Inbound  *policyRefs `json:"inbound,omitempty"`
			} `json:"components,omitempty"`
		} `json:"targets"`
	} `json:"spec"`
}

// httpEndpoint is a Dapr HTTPEndpoint: an external API called through the
// sidecar, so resiliency applies to it.
type httpEndpoint struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		BaseURL string         `json:"baseUrl"`
		Headers []metadataItem `json:"headers,omitempty"`
	} `json:"spec"`
	Auth   *authRef `json:"auth,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

type kustomizationFile struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// kinds lists every apiVersion/kind a manifest may have; anything else fails.
var kinds = map[string]func() any{
	"v1/Namespace":                                  func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                             func() any { return &corev1.ServiceAccount{} },
	"v1/Service":                                    func() any { return &corev1.Service{} },
	"v1/ConfigMap":                                  func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                     func() any { return &corev1.Secret{} },
	"apps/v1/Deployment":                            func() any { return &appsv1.Deployment{} },
	"autoscaling/v2/HorizontalPodAutoscaler":        func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":                 func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":            func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":             func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding":      func() any { return &rbacv1.RoleBinding{} },
	"dapr.io/v1alpha1/Component":                    func() any { return &component{} },
	"dapr.io/v1alpha1/Configuration":                func() any { return &configuration{} },
	"dapr.io/v1alpha1/Resiliency":                   func() any { return &resiliency{} },
	"dapr.io/v1alpha1/HTTPEndpoint":                 func() any { return &httpEndpoint{} },
	"kustomize.config.k8s.io/v1beta1/Kustomization": func() any { return &kustomizationFile{} },
}

// ---------------------------------------------------------------------------
// Loading.

type document struct {
	File  string // relative to the directory it was loaded from
	Index int    // position in a multi-document file
	Raw   []byte
	Kind  string // apiVersion/kind
	Obj   any    // one of the kinds above, decoded strictly
}

func (d document) String() string { return fmt.Sprintf("%s#%d (%s)", d.File, d.Index, d.Kind) }

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// splitYAML returns the non-empty documents of a multi-document YAML file;
// a document holding only comments is skipped.
func splitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, doc)
		}
	}
}

// decodeStrict decodes one document into the type registered for its kind,
// failing on unknown kinds, unknown fields and duplicate keys.
func decodeStrict(raw []byte) (string, any, error) {
	var tm typeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return "", nil, err
	}
	kind := tm.APIVersion + "/" + tm.Kind
	newObj, ok := kinds[kind]
	if !ok {
		return kind, nil, fmt.Errorf("unknown kind %q", kind)
	}
	obj := newObj()
	return kind, obj, unmarshalStrict(raw, obj)
}

// unmarshalStrict decodes YAML the way the API server decodes a strict
// request: no unknown, duplicate or wrongly-cased fields, and no implicit
// number-to-string conversion (sigs.k8s.io/yaml.UnmarshalStrict would quietly
// turn an unquoted annotation value into a string, which kubectl refuses).
func unmarshalStrict(raw []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// yamlFiles lists the .yaml/.yml files under dir, relative to it, sorted.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

// loadDir decodes every document under dir strictly; any failure fails the test.
func loadDir(t *testing.T, dir string) []document {
	t.Helper()
	var docs []document
	for _, file := range yamlFiles(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		raws, err := splitYAML(data)
		require.NoError(t, err, file)
		require.NotEmpty(t, raws, "%s holds no document", file)
		for i, raw := range raws {
			kind, obj, err := decodeStrict(raw)
			require.NoError(t, err, "%s#%d", file, i)
			docs = append(docs, document{File: file, Index: i, Raw: raw, Kind: kind, Obj: obj})
		}
	}
	return docs
}

// manifests are the cluster resources: everything but the kustomization and
// the example secrets.
type manifests struct {
	all            []document
	deployments    []*appsv1.Deployment
	services       []*corev1.Service
	hpas           []*autoscalingv2.HorizontalPodAutoscaler
	pdbs           []*policyv1.PodDisruptionBudget
	netpols        []*networkingv1.NetworkPolicy
	serviceAccount map[string]bool
	components     map[string]*component
	configurations map[string]*configuration
	resiliencies   map[string]*resiliency
	httpEndpoints  map[string]*httpEndpoint
	roles          []*rbacv1.Role
	roleBindings   []*rbacv1.RoleBinding
}

func loadManifests(t *testing.T, docs []document) manifests {
	t.Helper()
	m := manifests{
		serviceAccount: map[string]bool{},
		components:     map[string]*component{},
		configurations: map[string]*configuration{},
		resiliencies:   map[string]*resiliency{},
		httpEndpoints:  map[string]*httpEndpoint{},
	}
	for _, d := range docs {
		if d.File == kustomization || d.File == exampleSecrets {
			continue
		}
		m.all = append(m.all, d)
		switch o := d.Obj.(type) {
		case *appsv1.Deployment:
			m.deployments = append(m.deployments, o)
		case *corev1.Service:
			m.services = append(m.services, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpas = append(m.hpas, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		case *networkingv1.NetworkPolicy:
			m.netpols = append(m.netpols, o)
		case *corev1.ServiceAccount:
			m.serviceAccount[o.Name] = true
		case *rbacv1.Role:
			m.roles = append(m.roles, o)
		case *rbacv1.RoleBinding:
			m.roleBindings = append(m.roleBindings, o)
		case *httpEndpoint:
			require.NotContains(t, m.httpEndpoints, o.Metadata.Name, "duplicate HTTPEndpoint in %s", d)
			m.httpEndpoints[o.Metadata.Name] = o
		case *component:
			require.NotContains(t, m.components, o.Metadata.Name, "duplicate Component in %s", d)
			m.components[o.Metadata.Name] = o
		case *configuration:
			require.NotContains(t, m.configurations, o.Metadata.Name, "duplicate Configuration in %s", d)
			m.configurations[o.Metadata.Name] = o
		case *resiliency:
			require.NotContains(t, m.resiliencies, o.Metadata.Name, "duplicate Resiliency in %s", d)
			m.resiliencies[o.Metadata.Name] = o
		}
	}
	require.NotEmpty(t, m.all)
	return m
}

type runApp struct {
	AppID        string `json:"appID"`
	AppPort      int    `json:"appPort"`
	DaprHTTPPort int    `json:"daprHTTPPort"`
	DaprGRPCPort int    `json:"daprGRPCPort"`
	MetricsPort  int    `json:"metricsPort"`
}

// loadRunApps reads the apps of the Multi-App Run file. Only the fields the
// deployment mirrors are read, so the run file may grow other settings.
func loadRunApps(t *testing.T) []runApp {
	t.Helper()
	data, err := os.ReadFile(daprRunFile)
	require.NoError(t, err)
	var run struct {
		Apps []runApp `json:"apps"`
	}
	require.NoError(t, yaml.Unmarshal(data, &run))
	require.NotEmpty(t, run.Apps, "no apps in %s", daprRunFile)
	for _, a := range run.Apps {
		require.NotEmpty(t, a.AppID)
		require.NotZero(t, a.AppPort, a.AppID)
	}
	return run.Apps
}

// ---------------------------------------------------------------------------
// Helpers over k8s objects.

func containerPort(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

func selects(sel map[string]string, podLabels map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(podLabels))
}

func envByName(c corev1.Container) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

func assertSecretEnv(t *testing.T, env map[string]corev1.EnvVar, name, secret, key string) {
	t.Helper()
	e, ok := env[name]
	if !assert.True(t, ok, "env %s missing", name) {
		return
	}
	assert.Empty(t, e.Value, "env %s must come from a secret", name)
	if assert.NotNil(t, e.ValueFrom, name) && assert.NotNil(t, e.ValueFrom.SecretKeyRef, name) {
		assert.Equal(t, secret, e.ValueFrom.SecretKeyRef.Name, name)
		assert.Equal(t, key, e.ValueFrom.SecretKeyRef.Key, name)
	}
}

func assertHTTPProbe(t *testing.T, what string, p *corev1.Probe, c corev1.Container, path string, port int) {
	t.Helper()
	if !assert.NotNil(t, p, what) || !assert.NotNil(t, p.HTTPGet, "%s must be an httpGet probe", what) {
		return
	}
	assert.Equal(t, path, p.HTTPGet.Path, what)
	assert.Equal(t, port, containerPort(c, p.HTTPGet.Port), "%s port", what)
}

// ---------------------------------------------------------------------------
// Tests.

// TestStrictDecodingRejects proves the decoder is strict, so the checks on
// the real manifests below mean something.
func TestStrictDecodingRejects(t *testing.T) {
	cases := []struct {
		name string
		doc  string
	}{
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"},
		{"unknown Dapr kind", "apiVersion: dapr.io/v1alpha1\nkind: Subscriptionz\nmetadata: {name: x}\n"},
		{"misspelled Deployment field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n"},
		{"wrongly cased field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {Replicas: 2}\n"},
		{"misspelled container field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: x, imag: y}]\n"},
		{"annotation not a string", "apiVersion: v1\nkind: Service\nmetadata: {name: x, annotations: {dapr.io/app-port: 3000}}\n"},
		{"duplicate key", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n"},
		{"misspelled Component field", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: state.redis, version: v1, metdata: []}\n"},
		{"misspelled Resiliency field", "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: x}\nspec: {policies: {timeout: {a: 1s}}, targets: {}}\n"},
		{"unknown Configuration field", "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: x}\nspec: {tracin: {samplingRate: \"1\"}}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeStrict([]byte(tc.doc))
			require.Error(t, err)
		})
	}
}

// TestManifestsDecodeStrictly decodes every document, one subtest per file,
// and checks namespaces.
func TestManifestsDecodeStrictly(t *testing.T) {
	for _, file := range yamlFiles(t, manifestsDir) {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(manifestsDir, file))
			require.NoError(t, err)
			raws, err := splitYAML(data)
			require.NoError(t, err)
			require.NotEmpty(t, raws)
			for i, raw := range raws {
				kind, obj, err := decodeStrict(raw)
				require.NoError(t, err, "document %d", i)
				switch {
				case file == kustomization:
					assert.Equal(t, "kustomize.config.k8s.io/v1beta1/Kustomization", kind)
				case kind == "v1/Secret":
					// Secrets with values live only in the example file.
					assert.Equal(t, exampleSecrets, file, "a Secret outside the example file")
				case kind == "v1/Namespace":
					assert.Equal(t, namespace, obj.(*corev1.Namespace).Name)
				default:
					var meta struct {
						Metadata objectMeta `json:"metadata"`
					}
					require.NoError(t, yaml.Unmarshal(raw, &meta))
					assert.NotEmpty(t, meta.Metadata.Name, "document %d has no name", i)
					assert.Equal(t, namespace, meta.Metadata.Namespace, "document %d (%s %s)", i, kind, meta.Metadata.Name)
				}
			}
		})
	}
}

// overlays lists the directories under overlays/.
func overlays(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(overlaysDir)
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(overlaysDir, e.Name()))
		}
	}
	require.NotEmpty(t, dirs)
	return dirs
}

// render builds a kustomization the way `kubectl apply -k` does and decodes
// every resulting document strictly.
func render(t *testing.T, dir string) []document {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := rm.AsYaml()
	require.NoError(t, err)
	raws, err := splitYAML(out)
	require.NoError(t, err)
	docs := make([]document, 0, len(raws))
	for i, raw := range raws {
		kind, obj, err := decodeStrict(raw)
		require.NoError(t, err, "%s#%d:\n%s", dir, i, raw)
		docs = append(docs, document{File: dir, Index: i, Raw: raw, Kind: kind, Obj: obj})
	}
	return docs
}

// forEachManifestSet runs check on the base as written and on every
// overlay as rendered, so a drift introduced by an overlay fails too.
func forEachManifestSet(t *testing.T, check func(t *testing.T, m manifests)) {
	t.Run(manifestsDir, func(t *testing.T) { check(t, loadManifests(t, loadDir(t, manifestsDir))) })
	for _, dir := range overlays(t) {
		t.Run(dir, func(t *testing.T) { check(t, loadManifests(t, render(t, dir))) })
	}
}

// TestAppsMatchRunFile checks, per app of dapr.yaml, the Deployment and the
// objects around it.
func TestAppsMatchRunFile(t *testing.T) { forEachManifestSet(t, checkAppsMatchRunFile) }

func checkAppsMatchRunFile(t *testing.T, m manifests) {
	apps := loadRunApps(t)

	for _, app := range apps {
		t.Run(app.AppID, func(t *testing.T) {
			var found []*appsv1.Deployment
			for _, d := range m.deployments {
				if d.Spec.Template.Annotations["dapr.io/app-id"] == app.AppID {
					found = append(found, d)
				}
			}
			require.Len(t, found, 1, "Deployments with dapr.io/app-id=%s", app.AppID)
			d := found[0]
			pod := d.Spec.Template
			ann := pod.Annotations

			t.Run("dapr annotations", func(t *testing.T) {
				want := map[string]string{
					"dapr.io/enabled":          "true",
					"dapr.io/app-id":           app.AppID,
					"dapr.io/app-port":         strconv.Itoa(app.AppPort),
					"dapr.io/config":           app.AppID,
					"dapr.io/enable-metrics":   "true",
					"dapr.io/log-as-json":      "true",
					"dapr.io/api-token-secret": "dapr-api-token",
					"dapr.io/app-token-secret": "app-api-token",
					// daprd's built-in store would serve every secret the pod's
					// ServiceAccount may read, past the app's secret scopes.
					"dapr.io/disable-builtin-k8s-secret-store": "true",
					"dapr.io/sidecar-seccomp-profile-type":     "RuntimeDefault",
				}
				for k, v := range want {
					assert.Equal(t, v, ann[k], k)
				}
				assert.Contains(t, m.configurations, ann["dapr.io/config"], "the Configuration named by dapr.io/config")
				mp, err := strconv.Atoi(ann["dapr.io/metrics-port"])
				if assert.NoError(t, err, "dapr.io/metrics-port") {
					assert.NotEqual(t, app.AppPort, mp, "daprd metrics and the app share a port")
				}
				for _, k := range []string{"cpu-request", "memory-request", "cpu-limit", "memory-limit"} {
					_, err := resource.ParseQuantity(ann["dapr.io/sidecar-"+k])
					assert.NoError(t, err, "dapr.io/sidecar-%s", k)
				}
			})

			t.Run("deployment", func(t *testing.T) {
				assert.Equal(t, namespace, d.Namespace)
				assert.Nil(t, d.Spec.Replicas, "the HPA owns the replica count")
				require.NotNil(t, d.Spec.Selector)
				assert.True(t, selects(d.Spec.Selector.MatchLabels, pod.Labels), "selector does not match the pod labels")
				assert.Empty(t, d.Spec.Selector.MatchExpressions)
				assert.True(t, m.serviceAccount[pod.Spec.ServiceAccountName], "ServiceAccount %q not defined", pod.Spec.ServiceAccountName)
				assert.NotEqual(t, "default", pod.Spec.ServiceAccountName)
			})

			require.Len(t, pod.Spec.Containers, 1, "one app container; daprd is injected")
			c := pod.Spec.Containers[0]

			t.Run("container", func(t *testing.T) {
				assert.Contains(t, c.Image, "/"+app.AppID+":")
				assert.Equal(t, app.AppPort, containerPort(c, intstr.FromString("http")), "container port named http")
				assertHTTPProbe(t, "readinessProbe", c.ReadinessProbe, c, "/readyz", app.AppPort)
				assertHTTPProbe(t, "livenessProbe", c.LivenessProbe, c, "/healthz", app.AppPort)
				if c.StartupProbe != nil {
					assertHTTPProbe(t, "startupProbe", c.StartupProbe, c, "/healthz", app.AppPort)
				}
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
					assert.False(t, req.IsZero(), "requests.%s", r)
					assert.False(t, lim.IsZero(), "limits.%s", r)
				}
			})

			t.Run("env", func(t *testing.T) {
				env := envByName(c)
				plain := map[string]string{
					"BIND_ADDRESS":   "0.0.0.0",
					"APP_PORT":       strconv.Itoa(app.AppPort),
					"DAPR_HTTP_PORT": "3500",
					"DAPR_GRPC_PORT": "50001",
				}
				for k, v := range plain {
					assert.Equal(t, v, env[k].Value, k)
				}
				assertSecretEnv(t, env, "DAPR_API_TOKEN", ann["dapr.io/api-token-secret"], "token")
				assertSecretEnv(t, env, "APP_API_TOKEN", ann["dapr.io/app-token-secret"], "token")
				if noDatabase[app.AppID] {
					assert.NotContains(t, env, "DATABASE_URL")
				} else {
					assertSecretEnv(t, env, "DATABASE_URL", "postgres", "url-"+app.AppID)
				}
				if app.AppID == "gateway" {
					// Rate limits on: the limiter's Redis from the Secret, by the
					// kubelet, since the gateway's sidecar serves no secrets.
					assertSecretEnv(t, env, "REDIS_ADDR", "redis", "host")
					assertSecretEnv(t, env, "REDIS_PASSWORD", "redis", "password")
					assert.NotEqual(t, "off", env["RATE_LIMITS"].Value, "rate limits off")
				}
			})

			t.Run("security", func(t *testing.T) {
				psc := pod.Spec.SecurityContext
				sc := c.SecurityContext
				require.NotNil(t, sc, "container securityContext")
				nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) ||
					(psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
				assert.True(t, nonRoot, "runAsNonRoot")
				if sc.RunAsUser != nil {
					assert.NotZero(t, *sc.RunAsUser)
				}
				if psc != nil && psc.RunAsUser != nil {
					assert.NotZero(t, *psc.RunAsUser)
				}
				assert.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "readOnlyRootFilesystem")
				assert.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "allowPrivilegeEscalation: false")
				assert.True(t, sc.Privileged == nil || !*sc.Privileged, "privileged")
				if assert.NotNil(t, sc.Capabilities) {
					assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
					assert.Empty(t, sc.Capabilities.Add)
				}
				seccomp := sc.SeccompProfile
				if seccomp == nil && psc != nil {
					seccomp = psc.SeccompProfile
				}
				if assert.NotNil(t, seccomp, "seccompProfile") {
					assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, seccomp.Type)
				}
			})

			t.Run("service", func(t *testing.T) {
				var svcs []*corev1.Service
				for _, s := range m.services {
					if selects(s.Spec.Selector, pod.Labels) {
						svcs = append(svcs, s)
					}
				}
				require.Len(t, svcs, 1, "Services selecting %s", app.AppID)
				s := svcs[0]
				assert.Contains(t, []corev1.ServiceType{"", corev1.ServiceTypeClusterIP}, s.Spec.Type)
				require.NotEmpty(t, s.Spec.Ports)
				for _, p := range s.Spec.Ports {
					assert.Equal(t, app.AppPort, containerPort(c, p.TargetPort), "Service port %d target", p.Port)
				}
				if app.AppID == "gateway" {
					assert.Equal(t, int32(80), s.Spec.Ports[0].Port, "the gateway is served on 80")
				}
			})

			t.Run("hpa", func(t *testing.T) {
				var hpas []*autoscalingv2.HorizontalPodAutoscaler
				for _, h := range m.hpas {
					ref := h.Spec.ScaleTargetRef
					if ref.Kind == "Deployment" && ref.Name == d.Name {
						hpas = append(hpas, h)
					}
				}
				require.Len(t, hpas, 1, "HPAs targeting %s", d.Name)
				h := hpas[0]
				assert.Equal(t, "apps/v1", h.Spec.ScaleTargetRef.APIVersion)
				require.NotNil(t, h.Spec.MinReplicas)
				// With one replica, a PDB of minAvailable 1 would block every drain.
				assert.GreaterOrEqual(t, *h.Spec.MinReplicas, int32(2))
				assert.GreaterOrEqual(t, h.Spec.MaxReplicas, *h.Spec.MinReplicas)
				var cpu *autoscalingv2.MetricTarget
				for _, mt := range h.Spec.Metrics {
					if mt.Type == autoscalingv2.ResourceMetricSourceType && mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU {
						cpu = &mt.Resource.Target
					}
				}
				if assert.NotNil(t, cpu, "cpu metric") {
					assert.Equal(t, autoscalingv2.UtilizationMetricType, cpu.Type)
					if assert.NotNil(t, cpu.AverageUtilization) {
						assert.Equal(t, int32(70), *cpu.AverageUtilization)
					}
				}
			})

			t.Run("pdb", func(t *testing.T) {
				var pdbs []*policyv1.PodDisruptionBudget
				for _, p := range m.pdbs {
					if p.Spec.Selector != nil && selects(p.Spec.Selector.MatchLabels, pod.Labels) {
						pdbs = append(pdbs, p)
					}
				}
				require.Len(t, pdbs, 1, "PDBs selecting %s", app.AppID)
				if assert.NotNil(t, pdbs[0].Spec.MinAvailable) {
					assert.Equal(t, intstr.FromInt32(1), *pdbs[0].Spec.MinAvailable)
				}
			})
		})
	}

	t.Run("no deployment outside dapr.yaml", func(t *testing.T) {
		known := map[string]bool{}
		for _, a := range apps {
			known[a.AppID] = true
		}
		for _, d := range m.deployments {
			assert.True(t, known[d.Spec.Template.Annotations["dapr.io/app-id"]], "Deployment %s has no app in dapr.yaml", d.Name)
		}
		assert.Len(t, m.hpas, len(apps))
		assert.Len(t, m.pdbs, len(apps))
		assert.Len(t, m.services, len(apps))
	})
}

// TestDaprResources compares the cluster's Dapr resources with the local ones.
func TestDaprResources(t *testing.T) { forEachManifestSet(t, checkDaprResources) }

func checkDaprResources(t *testing.T, m manifests) {

	t.Run("configurations", func(t *testing.T) {
		for _, app := range loadRunApps(t) {
			t.Run(app.AppID, func(t *testing.T) {
				c, ok := m.configurations[app.AppID]
				require.True(t, ok, "Configuration %s", app.AppID)
				assert.Equal(t, namespace, c.Metadata.Namespace)
				assert.Nil(t, c.Spec.NameResolution, "the cluster resolves app-ids through DNS")
				assert.Nil(t, c.Spec.MTLS, "sidecars read mTLS from dapr-system/daprsystem only")
				if assert.NotNil(t, c.Spec.Tracing) {
					_, err := strconv.ParseFloat(c.Spec.Tracing.SamplingRate, 64)
					assert.NoError(t, err, "samplingRate")
					if assert.NotNil(t, c.Spec.Tracing.Otel, "the sidecar's spans are exported") {
						assert.Equal(t, "grpc", c.Spec.Tracing.Otel.Protocol)
						assert.NotEmpty(t, c.Spec.Tracing.Otel.EndpointAddress)
					}
				}
				if assert.NotNil(t, c.Spec.Metrics) && assert.NotNil(t, c.Spec.Metrics.Enabled) {
					assert.True(t, *c.Spec.Metrics.Enabled)
				}
			})
		}
	})

	t.Run("components", func(t *testing.T) {
		// Local resources are read loosely: other kinds (subscriptions,
		// endpoints) may live there; only Component names and types matter.
		localTypes := map[string][]string{}
		for _, file := range yamlFiles(t, localComponents) {
			data, err := os.ReadFile(filepath.Join(localComponents, file))
			require.NoError(t, err)
			raws, err := splitYAML(data)
			require.NoError(t, err, file)
			for _, raw := range raws {
				var c component
				require.NoError(t, yaml.Unmarshal(raw, &c), file)
				if c.Kind == "Component" {
					localTypes[c.Metadata.Name] = append(localTypes[c.Metadata.Name], c.Spec.Type)
				}
			}
		}
		for _, name := range []string{"pubsub", "statestore", "secretstore"} {
			assert.Contains(t, localTypes, name, "local Component %s", name)
		}
		for name, types := range localTypes {
			t.Run(name, func(t *testing.T) {
				c, ok := m.components[name]
				require.True(t, ok, "Component %s is used locally but missing in the cluster", name)
				if strings.HasPrefix(c.Spec.Type, "secretstores.") {
					assert.Equal(t, "secretstores.kubernetes", c.Spec.Type)
				} else {
					assert.Contains(t, types, c.Spec.Type, "same building block as locally")
				}
				assert.NotEmpty(t, c.Spec.Version)
				usesRefs := false
				for _, md := range c.Spec.Metadata {
					if md.SecretKeyRef != nil {
						usesRefs = true
						assert.Nil(t, md.Value, "%s has both value and secretKeyRef", md.Name)
					}
				}
				if usesRefs {
					if assert.NotNil(t, c.Auth, "secretKeyRef needs auth.secretStore") {
						assert.Equal(t, "kubernetes", c.Auth.SecretStore)
					}
				}
			})
		}
	})

	t.Run("http endpoints", func(t *testing.T) {
		local := map[string]*httpEndpoint{}
		for _, file := range yamlFiles(t, localComponents) {
			data, err := os.ReadFile(filepath.Join(localComponents, file))
			require.NoError(t, err)
			raws, err := splitYAML(data)
			require.NoError(t, err, file)
			for _, raw := range raws {
				var tm typeMeta
				require.NoError(t, yaml.Unmarshal(raw, &tm), file)
				if tm.Kind != "HTTPEndpoint" {
					continue
				}
				var e httpEndpoint
				require.NoError(t, unmarshalStrict(raw, &e), file)
				local[e.Metadata.Name] = &e
			}
		}
		assert.Contains(t, local, "stripe", "payments calls Stripe through the HTTPEndpoint stripe")
		assert.ElementsMatch(t, keys(local), keys(m.httpEndpoints), "HTTPEndpoint names")
		for name, want := range local {
			t.Run(name, func(t *testing.T) {
				got, ok := m.httpEndpoints[name]
				require.True(t, ok)
				assert.Equal(t, namespace, got.Metadata.Namespace)
				assert.True(t, strings.HasPrefix(got.Spec.BaseURL, "https://"), "the cluster calls out over TLS")
				assert.Equal(t, want.Spec.Headers, got.Spec.Headers, "same headers from the same secrets")
				assert.Equal(t, want.Scopes, got.Scopes)
				for _, h := range got.Spec.Headers {
					assert.Nil(t, h.Value, "header %s must come from a secret", h.Name)
				}
				// PayPal's endpoint sets no header: payments signs in itself.
				if len(got.Spec.Headers) > 0 && assert.NotNil(t, got.Auth, "secretKeyRef needs auth.secretStore") {
					assert.Equal(t, "kubernetes", got.Auth.SecretStore)
				}
				targeted := false
				for _, r := range m.resiliencies {
					if refs, ok := r.Spec.Targets.Apps[name]; ok && refs.CircuitBreaker != "" && refs.Timeout != "" {
						targeted = true
					}
				}
				assert.True(t, targeted, "a resiliency target with a timeout and a circuit breaker for %s", name)
			})
		}
	})

	t.Run("resiliency", func(t *testing.T) {
		local := map[string]*resiliency{}
		for _, d := range loadDir(t, localResiliency) {
			r, ok := d.Obj.(*resiliency)
			require.True(t, ok, "%s is not a Resiliency", d)
			local[r.Metadata.Name] = r
		}
		require.NotEmpty(t, local)
		assert.ElementsMatch(t, keys(local), keys(m.resiliencies), "Resiliency names")
		for name, want := range local {
			t.Run(name, func(t *testing.T) {
				got, ok := m.resiliencies[name]
				require.True(t, ok)
				assert.Equal(t, namespace, got.Metadata.Namespace)
				w, g := *want, *got
				w.Metadata.Namespace, g.Metadata.Namespace = "", ""
				assert.Equal(t, w, g)
			})
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestKustomization checks that kustomization.yaml lists every manifest but
// the example secrets, and nothing else.
func TestKustomization(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(manifestsDir, kustomization))
	require.NoError(t, err)
	var k kustomizationFile
	require.NoError(t, unmarshalStrict(data, &k))

	var want []string
	for _, f := range yamlFiles(t, manifestsDir) {
		if f != kustomization && f != exampleSecrets {
			want = append(want, f)
		}
	}
	got := slices.Clone(k.Resources)
	sort.Strings(got)
	assert.Equal(t, want, got)
	assert.NotContains(t, k.Resources, exampleSecrets, "example secrets must not be applied")
	for _, r := range k.Resources {
		t.Run(r, func(t *testing.T) {
			_, err := os.Stat(filepath.Join(manifestsDir, r))
			assert.NoError(t, err)
		})
	}
}

// secretish matches keys and variable names that hold credentials.
var secretish = regexp.MustCompile(`(?i)(password|passwd|token|secret|credential|apikey|api_key|privatekey|private_key|connectionstring|database_url|dsn)`)

// nameRefKeys hold the name of a secret or a switch, not a value.
var nameRefKeys = map[string]bool{
	"dapr.io/api-token-secret":                 true,
	"dapr.io/app-token-secret":                 true,
	"dapr.io/disable-builtin-k8s-secret-store": true,
	"secretStore":                              true,
	"secretName":                               true,
}

// literalSecrets reports every place in v where a credential is written out:
// a secret-like key with a string value, or a {name: <secret-like>, value: x}
// pair (env vars, Dapr metadata).
func literalSecrets(v any, path string) []string {
	var found []string
	switch x := v.(type) {
	case map[string]any:
		if name, ok := x["name"].(string); ok && secretish.MatchString(name) {
			if s, ok := x["value"].(string); ok && s != "" {
				found = append(found, path+"["+name+"]")
			}
		}
		for k, val := range x {
			if s, ok := val.(string); ok && s != "" && secretish.MatchString(k) && !nameRefKeys[k] {
				found = append(found, path+"."+k)
			}
			found = append(found, literalSecrets(val, path+"."+k)...)
		}
	case []any:
		for i, val := range x {
			found = append(found, literalSecrets(val, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	sort.Strings(found)
	return found
}

func TestLiteralSecretDetector(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want int
	}{
		{"env value", "env: [{name: DAPR_API_TOKEN, value: abc}]", 1},
		{"env from secret", "env: [{name: DAPR_API_TOKEN, valueFrom: {secretKeyRef: {name: t, key: token}}}]", 0},
		{"dapr metadata value", "metadata: [{name: redisPassword, value: hunter2}]", 1},
		{"dapr metadata ref", "metadata: [{name: redisPassword, secretKeyRef: {name: redis, key: password}}]", 0},
		{"secret-like key", "stringData: {password: hunter2}", 1},
		{"database url literal", "env: [{name: DATABASE_URL, value: \"postgres://u:p@h/db\"}]", 1},
		{"name references", "annotations: {dapr.io/api-token-secret: dapr-api-token}\nauth: {secretStore: kubernetes}", 0},
		{"empty value", "metadata: [{name: redisPassword, value: \"\"}]", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			require.NoError(t, yaml.Unmarshal([]byte(tc.doc), &v))
			assert.Len(t, literalSecrets(v, ""), tc.want)
		})
	}
}

// TestNoLiteralSecrets keeps credentials out of the applied manifests, and
// keeps the example file to obvious placeholders.
func TestNoLiteralSecrets(t *testing.T) {
	for _, file := range yamlFiles(t, manifestsDir) {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(manifestsDir, file))
			require.NoError(t, err)
			raws, err := splitYAML(data)
			require.NoError(t, err)
			for i, raw := range raws {
				if file == exampleSecrets {
					var s corev1.Secret
					require.NoError(t, unmarshalStrict(raw, &s))
					assert.Empty(t, s.Data, "use stringData with placeholders")
					require.NotEmpty(t, s.StringData, s.Name)
					for k, v := range s.StringData {
						if v == "" {
							continue // a secret that is empty until used (a key being rotated out)
						}
						assert.Contains(t, v, "CHANGE-ME", "%s/%s is not an obvious placeholder", s.Name, k)
					}
					continue
				}
				var v any
				require.NoError(t, yaml.Unmarshal(raw, &v))
				assert.Empty(t, literalSecrets(v, ""), "document %d writes a credential out", i)
			}
		})
	}
}

// TestDockerfile keeps the image recipe's port table in step with dapr.yaml
// and its build in the shape the workspace needs.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	text := string(data)

	ports := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z]+)\) port=(\d+) ;;`).FindAllStringSubmatch(text, -1) {
		p, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		ports[m[1]] = p
	}
	want := map[string]int{}
	for _, a := range loadRunApps(t) {
		want[a.AppID] = a.AppPort
	}
	assert.Equal(t, want, ports, "SERVICE/APP_PORT table")

	for _, s := range []string{
		"ARG SERVICE",
		"GOWORK=off",
		"CGO_ENABLED=0",
		"-trimpath",
		"COPY services/platform/",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER 65532",
		"EXPOSE ${APP_PORT}",
		"ROUTES_FILE=",
	} {
		t.Run(s, func(t *testing.T) { assert.Contains(t, text, s) })
	}

	// The gateway's image serves the shop: built from web/ with its
	// lockfile's packages, copied where WEB_DIR points.
	t.Run("the gateway's image ships the shop", func(t *testing.T) {
		assert.Regexp(t, `(?m)^FROM node:\S+ AS web$`, text)
		assert.Regexp(t, `(?s)if \[ "\$\{SERVICE:-\}" = gateway \]; then \\\s*PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci `, text)
		assert.Regexp(t, `(?m)^RUN if \[ "\$\{SERVICE:-\}" = gateway \]; then npm run build; fi$`, text)
		dest := regexp.MustCompile(`(?m)^COPY --from=web /src/web/dist/ (\S+)/$`).FindStringSubmatch(text)
		require.NotNil(t, dest, "the final stage copies the built shop")
		assert.Regexp(t, `(?m)^ENV .*\bWEB_DIR=`+regexp.QuoteMeta(dest[1])+`$`, text)

		// A local web/dist or node_modules must not stand in for the build.
		ignore, err := os.ReadFile("../.dockerignore")
		require.NoError(t, err)
		for _, p := range []string{"web/dist", "**/node_modules", ".run"} {
			assert.Contains(t, strings.Split(string(ignore), "\n"), p)
		}
	})
}

// TestObservability checks the local scrape targets against dapr.yaml and
// that the dashboard queries the metrics the platform exports.
func TestObservability(t *testing.T) {
	apps := loadRunApps(t)

	type staticConfig struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	type scrapeConfig struct {
		JobName             string           `json:"job_name"`
		MetricsPath         string           `json:"metrics_path"`
		StaticConfigs       []staticConfig   `json:"static_configs"`
		KubernetesSDConfigs []map[string]any `json:"kubernetes_sd_configs"`
		RelabelConfigs      []map[string]any `json:"relabel_configs"`
	}
	type promConfig struct {
		Global        map[string]any `json:"global"`
		RuleFiles     []string       `json:"rule_files"`
		ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
	}
	load := func(t *testing.T, file string) map[string]scrapeConfig {
		data, err := os.ReadFile(filepath.Join(observeDir, file))
		require.NoError(t, err)
		var c promConfig
		require.NoError(t, unmarshalStrict(data, &c))
		jobs := map[string]scrapeConfig{}
		for _, sc := range c.ScrapeConfigs {
			jobs[sc.JobName] = sc
		}
		return jobs
	}

	t.Run("local targets", func(t *testing.T) {
		jobs := load(t, "prometheus.yml")
		for job, port := range map[string]func(runApp) int{
			"daprshop-apps": appMetricsPort,
			"daprd":         func(a runApp) int { return a.MetricsPort },
		} {
			t.Run(job, func(t *testing.T) {
				sc, ok := jobs[job]
				require.True(t, ok)
				got := map[string]string{}
				for _, st := range sc.StaticConfigs {
					for _, target := range st.Targets {
						got[st.Labels["app"]] = target
					}
				}
				want := map[string]string{}
				for _, a := range apps {
					require.NotZero(t, port(a), a.AppID)
					want[a.AppID] = "127.0.0.1:" + strconv.Itoa(port(a))
				}
				assert.Equal(t, want, got)
			})
		}
	})

	t.Run("kubernetes discovery", func(t *testing.T) {
		jobs := load(t, "prometheus-kubernetes.yml")
		for _, job := range []string{"daprshop-apps", "daprd"} {
			sc, ok := jobs[job]
			if assert.True(t, ok, job) && assert.NotEmpty(t, sc.KubernetesSDConfigs, job) {
				assert.Equal(t, "pod", sc.KubernetesSDConfigs[0]["role"], job)
				assert.NotEmpty(t, sc.RelabelConfigs, job)
			}
		}
	})

	t.Run("alert rules", func(t *testing.T) {
		type rule struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		}
		type rules struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []rule `json:"rules"`
			} `json:"groups"`
		}
		alerts := map[string]rule{}
		for _, config := range []string{"prometheus.yml", "prometheus-kubernetes.yml"} {
			data, err := os.ReadFile(filepath.Join(observeDir, config))
			require.NoError(t, err)
			var c promConfig
			require.NoError(t, unmarshalStrict(data, &c))
			assert.Equal(t, []string{"alerts.yml"}, c.RuleFiles, config)
		}
		data, err := os.ReadFile(filepath.Join(observeDir, "alerts.yml"))
		require.NoError(t, err)
		var r rules
		require.NoError(t, unmarshalStrict(data, &r))
		for _, g := range r.Groups {
			for _, a := range g.Rules {
				assert.NotEmpty(t, a.Annotations["summary"], a.Alert)
				assert.NotEmpty(t, a.Labels["severity"], a.Alert)
				alerts[a.Alert] = a
			}
		}
		deadLetters, ok := alerts["DeadLetters"]
		require.True(t, ok, "an alert on dead letters")
		assert.Equal(t, "max by (service, topic) (dead_letters_unresolved) > 0", deadLetters.Expr,
			"fires on any unresolved dead letter (the gauge of package deadletter)")
		assert.Empty(t, deadLetters.For, "at once")
	})

	// The e2e suite evaluates every query against a Prometheus that saw
	// traffic (tests/e2e TestDashboards); this checks what Grafana needs to
	// import them, and that each covers what it is for.
	t.Run("dashboards", func(t *testing.T) {
		type target struct {
			Expr       string            `json:"expr"`
			Datasource map[string]string `json:"datasource"`
		}
		type dashboard struct {
			Title  string `json:"title"`
			UID    string `json:"uid"`
			Panels []struct {
				ID         int               `json:"id"`
				Type       string            `json:"type"`
				Title      string            `json:"title"`
				Datasource map[string]string `json:"datasource"`
				Targets    []target          `json:"targets"`
			} `json:"panels"`
		}
		covers := map[string][]string{
			"overview.json": {"rate(http_request_duration_seconds_count", `status=~"5.."`,
				"histogram_quantile(0.5,", "histogram_quantile(0.99,", "http_requests_in_flight", "process_cpu_seconds_total"},
			"checkout.json": {`route="/api/v1/checkout"`, `topic="order.created"`, `topic="order.paid"`,
				`service="payments"`, "stock_reservations_held"},
			"events.json": {"outbox_backlog", "outbox_lag_seconds", "outbox_events_published_total", "outbox_publish_failures_total",
				"events_handled_total", "dead_letters_unresolved", "dead_letters_received_total"},
			"sidecars.json": {"dapr_http_server_latency_bucket", "dapr_grpc_io_server_server_latency_bucket",
				"dapr_http_client_roundtrip_latency_bucket", "dapr_runtime_service_invocation_res_recv_latency_ms_bucket",
				"dapr_component_pubsub_egress_count", "dapr_component_state_count", `policy="circuitbreaker"`,
				"dapr_resiliency_activations_total"},
			"jobs.json": {"workers_job_runs_total", "workers_job_failures_total", "workers_job_last_success_timestamp_seconds",
				"workers_job_duration_seconds_bucket"},
		}
		uids := map[string]string{}
		for file, want := range covers {
			t.Run(file, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(observeDir, "dashboards", file))
				require.NoError(t, err)
				var d dashboard
				require.NoError(t, json.Unmarshal(data, &d))
				require.NotEmpty(t, d.UID)
				assert.Empty(t, uids[d.UID], "uid %s used by %s too", d.UID, uids[d.UID])
				uids[d.UID] = file
				ids := map[int]bool{}
				var exprs []string
				for _, p := range d.Panels {
					assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
					ids[p.ID] = true
					if p.Type == "row" {
						continue
					}
					assert.Equal(t, "${datasource}", p.Datasource["uid"], "panel %q: the data source chosen at import", p.Title)
					require.NotEmpty(t, p.Targets, "panel %q: a query", p.Title)
					for _, tg := range p.Targets {
						assert.NotEmpty(t, tg.Expr, "panel %q", p.Title)
						assert.Equal(t, "${datasource}", tg.Datasource["uid"], "panel %q", p.Title)
						exprs = append(exprs, tg.Expr)
					}
				}
				all := strings.Join(exprs, "\n")
				for _, w := range want {
					assert.Contains(t, all, w)
				}
			})
		}
		files, err := filepath.Glob(filepath.Join(observeDir, "dashboards", "*.json"))
		require.NoError(t, err)
		assert.Len(t, files, len(covers), "a dashboard this test does not know")
	})
}

// TestNetworkPolicies checks that only sidecars reach apps: ingress is
// denied by default, other pods of the system reach daprd's internal gRPC
// port, and no app port is open to other pods (the gateway's is the edge).
func TestNetworkPolicies(t *testing.T) {
	forEachManifestSet(t, func(t *testing.T, m manifests) {
		denyAll := false
		for _, p := range m.netpols {
			if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
				slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(p.Spec.Ingress) == 0 {
				denyAll = true
			}
		}
		assert.True(t, denyAll, "a policy denying all ingress by default")

		for _, d := range m.deployments {
			pod := d.Spec.Template
			appID := pod.Annotations["dapr.io/app-id"]
			t.Run(appID, func(t *testing.T) {
				appPort, err := strconv.Atoi(pod.Annotations["dapr.io/app-port"])
				require.NoError(t, err)
				// Per port of this pod: may pods of the system connect, may anyone?
				fromSystemPods, fromAnywhere := map[int]bool{}, map[int]bool{}
				for _, p := range m.netpols {
					sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
					require.NoError(t, err)
					if !sel.Matches(labels.Set(pod.Labels)) {
						continue
					}
					for _, rule := range p.Spec.Ingress {
						require.NotEmpty(t, rule.Ports, "%s opens every port of %s", p.Name, appID)
						for _, port := range rule.Ports {
							n := containerPort(pod.Spec.Containers[0], *port.Port)
							switch {
							case len(rule.From) == 0:
								fromAnywhere[n] = true
							case slices.ContainsFunc(rule.From, func(peer networkingv1.NetworkPolicyPeer) bool {
								return peer.NamespaceSelector == nil && peer.PodSelector != nil &&
									peer.PodSelector.MatchLabels["app.kubernetes.io/part-of"] == "daprshop"
							}):
								fromSystemPods[n] = true
							}
						}
					}
				}
				assert.True(t, fromSystemPods[50002], "other sidecars reach daprd's internal gRPC port")
				assert.False(t, fromSystemPods[appPort], "other pods reach the app port")
				assert.Equal(t, appID == "gateway", fromAnywhere[appPort], "app port open to anyone")
			})
		}
	})
}

// TestOverlays checks what the overlays add: images of the overlay's tag,
// and in every overlay the control plane's mTLS.
func TestOverlays(t *testing.T) {
	for dir, tag := range map[string]string{"overlays/dev": "dev", "overlays/prod": "1.0.0"} {
		t.Run(dir, func(t *testing.T) {
			m := loadManifests(t, render(t, filepath.FromSlash(dir)))
			for _, d := range m.deployments {
				for _, c := range d.Spec.Template.Spec.Containers {
					assert.Equal(t, "daprshop/"+d.Name+":"+tag, c.Image)
				}
			}
			for _, doc := range m.all {
				var meta struct {
					Metadata objectMeta `json:"metadata"`
				}
				require.NoError(t, yaml.Unmarshal(doc.Raw, &meta))
				if doc.Kind != "v1/Namespace" && meta.Metadata.Name != "daprsystem" {
					assert.Equal(t, namespace, meta.Metadata.Namespace, "%s %s", doc.Kind, meta.Metadata.Name)
				}
			}
		})
	}

	// Access control knows callers only by their mTLS certificates: with
	// mTLS off every invocation would get the default action, deny.
	for _, dir := range overlays(t) {
		t.Run(dir+" turns mTLS on", func(t *testing.T) {
			m := loadManifests(t, render(t, dir))
			c, ok := m.configurations["daprsystem"]
			require.True(t, ok, "Configuration daprsystem")
			assert.Equal(t, "dapr-system", c.Metadata.Namespace, "the control plane reads it from its own namespace")
			if assert.NotNil(t, c.Spec.MTLS) {
				assert.True(t, c.Spec.MTLS.Enabled)
			}
		})
	}
}

// appMetricsPort is where an app serves /metrics: its app port, except the
// gateway, which keeps them off the port clients reach.
func appMetricsPort(a runApp) int {
	if a.AppID == "gateway" {
		return 3100
	}
	return a.AppPort
}

// TestOrdersRetryNoProductsAnswer: daprd 1.14 would retry products'
// refusals (409 out of stock, 404 unknown product or no reservation) under
// a retry policy, so a refused checkout waited about 2.4 s and products
// answered it four times. Orders retries its calls of products itself,
// on 5xx and unreachable only; no Resiliency of its sidecar retries them.
func TestOrdersRetryNoProductsAnswer(t *testing.T) {
	check := func(t *testing.T, resiliencies map[string]*resiliency) {
		t.Helper()
		targeted := 0
		for name, r := range resiliencies {
			if len(r.Scopes) > 0 && !slices.Contains(r.Scopes, contracts.AppOrders) {
				continue
			}
			for policy := range r.Spec.Policies.Retries {
				assert.NotContains(t, []string{"DefaultAppRetryPolicy", "DefaultRetryPolicy"}, policy,
					"Resiliency %s retries every app answer from the orders' sidecar", name)
			}
			if refs, ok := r.Spec.Targets.Apps[contracts.AppProducts]; ok {
				targeted++
				assert.Empty(t, refs.Retry, "Resiliency %s retries products' answers from the orders' sidecar", name)
				assert.NotEmpty(t, refs.Timeout, "Resiliency %s leaves the orders' calls of products unbounded", name)
			}
		}
		assert.NotZero(t, targeted, "a Resiliency bounds the orders' calls of products")
	}
	t.Run("local", func(t *testing.T) { check(t, localResiliencies(t)) })
	forEachManifestSet(t, func(t *testing.T, m manifests) { check(t, m.resiliencies) })
}
