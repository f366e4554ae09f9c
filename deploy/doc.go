// Package deploy holds the container image recipe, the Kubernetes manifests
// and the observability config of daprshop. Its only Go code is the test that
// keeps the manifests strict and in step with dapr.yaml and resiliency/.
package deploy
