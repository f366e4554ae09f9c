package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// errorLine matches the error and fatal lines of daprd and of the apps
// (JSON both), and the runner's note of a process that exited.
var errorLine = regexp.MustCompile(`"level":"(?i:error|fatal)"|\[runner\] .* exited`)

// logTime matches the timestamp of a line.
var logTime = regexp.MustCompile(`"time":"([0-9T:.+Z-]+)"`)

// anID matches what differs between otherwise equal lines: UUIDs (event,
// order and request ids) and long hex strings (trace ids).
var anID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{16,}`)

// errorSummary lists the distinct error lines of the suite's logs (the
// runner's, those of processes the tests restarted and the probes'), each with how
// often and between which times it was logged: a failed CI run keeps only
// this output, and a process's errors are often the cause of a failure
// that shows elsewhere (a 503 at the gateway, say).
func errorSummary(runDir string, limit int) string {
	// e2e-restarted-*: processes the tests restarted; e2e-e2e-*: probe sidecars.
	logs, _ := filepath.Glob(filepath.Join(runDir, "e2e-*.log"))
	logs = append([]string{filepath.Join(runDir, "e2e.log")}, logs...)
	type seen struct {
		first, last string
		count       int
		order       int
	}
	lines := map[string]*seen{}
	for i, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if !errorLine.MatchString(line) {
				continue
			}
			at := ""
			if m := logTime.FindStringSubmatch(line); m != nil {
				at = m[1]
			}
			key := anID.ReplaceAllString(logTime.ReplaceAllString(line, ""), "…")
			if i > 0 {
				key = filepath.Base(path) + ": " + key
			}
			s := lines[key]
			if s == nil {
				s = &seen{first: at, order: len(lines)}
				lines[key] = s
			}
			s.count++
			s.last = at
		}
		f.Close()
	}
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return lines[a].order - lines[b].order })
	var b strings.Builder
	fmt.Fprintf(&b, "e2e: %d distinct error lines in the processes' logs", len(keys))
	if len(keys) > limit {
		fmt.Fprintf(&b, " (the first %d)", limit)
		keys = keys[:limit]
	}
	b.WriteString(":\n")
	for _, k := range keys {
		s := lines[k]
		fmt.Fprintf(&b, "  ×%d %s – %s  %s\n", s.count, s.first, s.last, k)
	}
	return b.String()
}
