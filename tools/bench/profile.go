package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// pprofAddrs finds, in the runner's log, where each app serves its
// profiler (PPROF_ADDR=127.0.0.1:0: every app logs the port it got).
func pprofAddrs(logPath string) (map[string]string, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
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

// profiler takes CPU profiles of every app during a load.
type profiler struct {
	dir   string
	addrs map[string]string
}

// during profiles every app for d, starting now, into dir/<load>-<app>.pprof;
// the returned wait blocks until all are written.
func (p *profiler) during(load string, d time.Duration) (wait func() error) {
	if p == nil {
		return func() error { return nil }
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(p.addrs))
	for app, addr := range p.addrs {
		wg.Go(func() {
			errs <- p.take(filepath.Join(p.dir, fileName(load)+"-"+app+".pprof"), addr, d)
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
