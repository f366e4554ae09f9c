package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileAddrs finds, in the runner's log, where each process serves its
// profiler: each app logs the port it got (PPROF_ADDR=127.0.0.1:0), keyed
// by its service name; each sidecar's is in the runner's listing of the
// instances it starts (runner -profile-sidecars), keyed "<instance> sidecar".
func profileAddrs(logPath string) (map[string]string, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if listing, ok := strings.CutPrefix(line, "[runner] "); ok {
			name, ports, _ := strings.Cut(listing, ": ")
			for port := range strings.SplitSeq(ports, ", ") {
				if n, ok := strings.CutPrefix(port, "sidecar profiling "); ok {
					if _, err := strconv.Atoi(n); err == nil {
						name, _, _ = strings.Cut(name, " (app id ")
						addrs[name+" sidecar"] = "127.0.0.1:" + n
					}
				}
			}
			continue
		}
		_, js, ok := strings.Cut(line, "] ")
		if !ok || !strings.Contains(js, `"serving pprof"`) {
			continue
		}
		var l struct{ Service, Addr string }
		if json.Unmarshal([]byte(js), &l) == nil && l.Service != "" {
			addrs[l.Service] = l.Addr
		}
	}
	return addrs, nil
}

// profiler takes CPU profiles of every app and sidecar during a load.
type profiler struct {
	dir   string
	addrs map[string]string
}

// during profiles every process for d, starting now, into dir/<load>-<name>.pprof;
// the returned wait blocks until all are written.
func (p *profiler) during(load string, d time.Duration) (wait func() error) {
	if p == nil {
		return func() error { return nil }
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(p.addrs))
	for name, addr := range p.addrs {
		wg.Go(func() {
			errs <- p.take(filepath.Join(p.dir, fileName(load+"-"+name)+".pprof"), addr, d)
		})
	}
	return func() error {
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func (p *profiler) take(path, addr string, d time.Duration) error {
	hc := &http.Client{Timeout: d + 10*time.Second}
	resp, err := hc.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s", path, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fileName(load string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, load)
}
