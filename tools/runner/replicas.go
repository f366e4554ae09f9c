package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

const (
	// maxReplicas bounds the instances of one app: with replicaPortStep,
	// ten instances of the run file's apps (ports 3000-3006, 3500-3506,
	// 3600-3606, 3700-3706) stay clear of the next block of ports.
	maxReplicas = 10
	// replicaPortStep separates the ports of one app's instances: the n-th
	// instance listens on every port of its run file entry plus
	// (n-1)*replicaPortStep, so products' 3002 and 3502 become 3012 and 3512.
	replicaPortStep = 10
	// sidecarProfilePortOffset puts a sidecar's profiler (-profile-sidecars)
	// clear of every other port: 3500-3506 profile on 3900-3906.
	sidecarProfilePortOffset = 400
)

// replicaCounts is the repeatable -replicas flag: how many instances of
// which apps to start ("products=2,orders=2"). Apps it leaves out start once.
type replicaCounts map[string]int

func (r replicaCounts) String() string {
	parts := make([]string, 0, len(r))
	for _, id := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, id+"="+strconv.Itoa(r[id]))
	}
	return strings.Join(parts, ",")
}

func (r replicaCounts) Set(v string) error {
	for _, pair := range strings.Split(v, ",") {
		id, count, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || id == "" {
			return fmt.Errorf("want APP=N[,APP=N...], got %q", pair)
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 || n > maxReplicas {
			return fmt.Errorf("%s: the number of instances must be 1 to %d, got %q", id, maxReplicas, count)
		}
		if _, dup := r[id]; dup {
			return fmt.Errorf("%s: given twice", id)
		}
		r[id] = n
	}
	return nil
}

// expandReplicas returns the instances to start: each app of the run file
// once, or as many times as replicas asks, every further instance on ports
// of its own. All instances of an app keep its app id, so name resolution
// registers them side by side and Sentry gives them one identity. reserved
// are ports taken by something else the runner starts (Sentry). It fails on
// an unknown app id, on ports daprd would choose the same for every
// instance, and on any port two processes would share.
func expandReplicas(apps []app, replicas replicaCounts, reserved map[int]string) ([]app, error) {
	byID := make(map[string]bool, len(apps))
	for _, a := range apps {
		byID[a.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(replicas)) {
		if !byID[id] {
			return nil, fmt.Errorf("replicas: no app %q in the run file", id)
		}
	}
	var out []app
	for _, a := range apps {
		n := max(replicas[a.ID], 1)
		if n > 1 && (a.GRPCPort == 0 || a.InternalGRPCPort == 0 || a.MetricsPort == 0) {
			// Unset, each of these is one fixed default (the internal port
			// is derived from the app id), the same for every instance.
			return nil, fmt.Errorf("app %q: replicas need daprGRPCPort, daprInternalGRPCPort and metricsPort set in the run file", a.ID)
		}
		for i := range n {
			inst := a
			if n > 1 {
				inst.Name = fmt.Sprintf("%s-%d", a.ID, i+1)
				inst.Replicated = true
			}
			shift := func(port int) int {
				if port == 0 {
					return 0
				}
				return port + i*replicaPortStep
			}
			inst.AppPort, inst.HTTPPort, inst.GRPCPort = shift(a.AppPort), shift(a.HTTPPort), shift(a.GRPCPort)
			inst.InternalGRPCPort, inst.MetricsPort = shift(a.InternalGRPCPort), shift(a.MetricsPort)
			inst.ProfilePort = shift(a.ProfilePort)
			out = append(out, inst)
		}
	}
	return out, checkPorts(out, reserved)
}

// checkPorts fails when two processes would listen on one port, or an
// instance's name is another's (an app id "products-2" next to the second
// replica of products).
func checkPorts(instances []app, reserved map[int]string) error {
	owners := maps.Clone(reserved)
	if owners == nil {
		owners = map[int]string{}
	}
	names := make(map[string]bool, len(instances))
	var errs []error
	for _, inst := range instances {
		if names[inst.Name] {
			errs = append(errs, fmt.Errorf("two instances are named %q", inst.Name))
		}
		names[inst.Name] = true
		for _, p := range inst.ports() {
			if p.port == 0 {
				continue
			}
			owner := inst.Name + " " + p.name
			switch other, taken := owners[p.port]; {
			case p.port > 65535:
				errs = append(errs, fmt.Errorf("%s: port %d is out of range", owner, p.port))
			case taken:
				errs = append(errs, fmt.Errorf("%s: port %d is already %s's", owner, p.port, other))
			default:
				owners[p.port] = owner
			}
		}
	}
	return errors.Join(errs...)
}

type namedPort struct {
	name string
	port int
}

// ports lists the ports the instance's app and sidecar listen on.
func (a app) ports() []namedPort {
	return []namedPort{
		{"app", a.AppPort}, {"sidecar HTTP", a.HTTPPort}, {"sidecar gRPC", a.GRPCPort},
		{"sidecar internal gRPC", a.InternalGRPCPort}, {"sidecar metrics", a.MetricsPort},
		{"sidecar profiling", a.ProfilePort},
	}
}

// describe is the instance's line in the runner's start-up listing.
func (a app) describe() string {
	var b strings.Builder
	b.WriteString(a.Name)
	if a.Name != a.ID {
		fmt.Fprintf(&b, " (app id %s)", a.ID)
	}
	sep := ": "
	for _, p := range a.ports() {
		if p.port != 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, p.name, p.port)
			sep = ", "
		}
	}
	return b.String()
}
