package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// promConfig is the part of a Prometheus config that `runner prometheus`
// copies. It is decoded strictly: a setting the copy would drop fails.
type promConfig struct {
	Global        map[string]any `yaml:"global,omitempty"`
	RuleFiles     []string       `yaml:"rule_files,omitempty"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	MetricsPath   string         `yaml:"metrics_path,omitempty"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// runPrometheus writes the Prometheus config IN as it must be for the
// system a runner starts from the run file with -replicas: each static
// target labelled app=X is followed by the further instances of X, at its
// port plus replicaPortStep, 2*replicaPortStep..., labelled like it. Rule
// files are made relative to OUT's directory, where Prometheus resolves
// them. It fails on a setting of IN it does not know, on a target without a
// port and on an app label naming no app of the run file.
func runPrometheus(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("runner prometheus", flag.ContinueOnError)
	fs.SetOutput(stdout)
	runFilePath := fs.String("f", "dapr.yaml", "Multi-App Run `file` the system is started from")
	replicas := replicaCounts{}
	fs.Var(replicas, "replicas", "the instances it is started with, `APP=N[,APP=N...]`, as given to the runner")
	out := fs.String("o", "", "`file` to write the config to")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return errors.New("prometheus: want -o OUT and one input config IN")
	}
	in := fs.Arg(0)
	apps, err := loadRunFile(*runFilePath)
	if err != nil {
		return err
	}
	instances, err := expandReplicas(apps, replicas, nil)
	if err != nil {
		return err
	}
	counts := make(map[string]int, len(apps))
	for _, inst := range instances {
		counts[inst.ID]++
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	cfg, err := replicatePromConfig(data, counts)
	if err != nil {
		return fmt.Errorf("prometheus: %s: %w", in, err)
	}
	if cfg.RuleFiles, err = rebaseRuleFiles(cfg.RuleFiles, filepath.Dir(in), filepath.Dir(*out)); err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by `runner prometheus` from %s: edit that instead.\n", in)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return err
	}
	return os.WriteFile(*out, b.Bytes(), 0o644)
}

// replicatePromConfig decodes data strictly and adds, after each static
// target labelled app=X, X's further instances: counts has how many
// instances each app of the run file has.
func replicatePromConfig(data []byte, counts map[string]int) (promConfig, error) {
	var cfg promConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, err
	}
	for i, sc := range cfg.ScrapeConfigs {
		var statics []staticConfig
		for _, st := range sc.StaticConfigs {
			statics = append(statics, st)
			app, labelled := st.Labels["app"]
			n, known := counts[app]
			if labelled && !known {
				return cfg, fmt.Errorf("job %s: label app=%q names no app of the run file", sc.JobName, app)
			}
			for _, target := range st.Targets {
				host, p, err := net.SplitHostPort(target)
				if err != nil {
					return cfg, fmt.Errorf("job %s: target %q: %w", sc.JobName, target, err)
				}
				port, err := strconv.Atoi(p)
				if err != nil {
					return cfg, fmt.Errorf("job %s: target %q: port %q is not a number", sc.JobName, target, p)
				}
				for k := 1; k < n; k++ {
					further := net.JoinHostPort(host, strconv.Itoa(port+k*replicaPortStep))
					statics = append(statics, staticConfig{Targets: []string{further}, Labels: st.Labels})
				}
			}
		}
		cfg.ScrapeConfigs[i].StaticConfigs = statics
	}
	return cfg, nil
}

// rebaseRuleFiles turns rule files relative to inDir, as Prometheus reads
// them from a config there, into paths relative to outDir.
func rebaseRuleFiles(files []string, inDir, outDir string) ([]string, error) {
	absIn, err := filepath.Abs(inDir)
	if err != nil {
		return nil, err
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	rebased := make([]string, len(files))
	for i, f := range files {
		if filepath.IsAbs(f) {
			rebased[i] = f
			continue
		}
		if rebased[i], err = filepath.Rel(absOut, filepath.Join(absIn, f)); err != nil {
			return nil, err
		}
	}
	return rebased, nil
}
