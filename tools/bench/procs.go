package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid int
	comm      string
	args      []string
	// cpuTicks is the CPU time (user + system) the process used, plus
	// that of its children it has waited for: a server that forks a
	// process per connection (PostgreSQL) keeps the time of the exited
	// ones that way.
	cpuTicks int64
	rssKiB   int64
	// pssKiB is the process's proportional share of memory: pages shared
	// with others (the one daprd binary mapped by every sidecar) count
	// once in a sum over processes, where RSS counts them in each.
	pssKiB int64
}

// parseStat reads the fields of /proc/<pid>/stat this tool needs. The
// command name is in parentheses and may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStat(b []byte) (pid, ppid int, comm string, ticks int64, err error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return 0, 0, "", 0, fmt.Errorf("malformed stat %q", b)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(string(b[:open]))); err != nil {
		return 0, 0, "", 0, err
	}
	comm = string(b[open+1 : end])
	// Fields after the name, from 3 (state): ppid is 4, utime 14, stime
	// 15, cutime 16, cstime 17.
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return 0, 0, "", 0, fmt.Errorf("malformed stat %q", b)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, "", 0, err
	}
	for _, i := range []int{11, 12, 13, 14} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, 0, "", 0, err
		}
		ticks += n
	}
	return pid, ppid, comm, ticks, nil
}

// parseRSS reads VmRSS (KiB) from /proc/<pid>/status; kernel threads
// have none.
func parseRSS(b []byte) int64 { return parseKiB(b, "VmRSS:") }

// parseKiB reads the "field: N kB" line of a /proc file.
func parseKiB(b []byte, field string) int64 {
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// readProcs lists every process readable under root (/proc).
func readProcs(root string) []proc {
	entries, _ := os.ReadDir(root)
	var out []proc
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		dir := filepath.Join(root, e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		p := proc{}
		if p.pid, p.ppid, p.comm, p.cpuTicks, err = parseStat(stat); err != nil {
			continue
		}
		if status, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
			p.rssKiB = parseRSS(status)
		}
		if rollup, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
			p.pssKiB = parseKiB(rollup, "Pss:")
		}
		if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
			p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		}
		out = append(out, p)
	}
	return out
}

// group is a row of the cost table: a role in the system and the
// processes playing it.
type group struct {
	name   string
	system bool // an app or sidecar of the shop: counted in its RSS total
	ticks  int64
	rssKiB int64
	pssKiB int64
	procs  int
}

// classify names the role of p in a bench run, or "" for processes that
// play none. known maps the pids this tool started itself to their role.
func classify(p proc, known map[int]string) (name string, system bool) {
	if n, ok := known[p.pid]; ok {
		return n, false
	}
	switch {
	case strings.HasPrefix(p.comm, "daprd"):
		if id := argValue(p.args, "--app-id"); id != "" && known[p.ppid] == "runner" {
			return id + " sidecar", true
		}
	case p.comm == "postgres":
		return "postgresql", false
	case p.comm == "redis-server":
		return "redis", false
	case p.comm == "beam.smp" || p.comm == "epmd" || p.comm == "erl_child_setup":
		return "rabbitmq", false
	case p.comm == "nats-server":
		return "nats", false
	case p.comm == "mailpit" || p.comm == "stripelocal" || p.comm == "devsink" || p.comm == "sentry":
		return p.comm, false
	}
	if known[p.ppid] == "runner" {
		return p.comm + " app", true
	}
	return "", false
}

func argValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// snapshot adds up the CPU time and memory of every role at one moment.
func snapshot(root string, known map[int]string) map[string]group {
	groups := map[string]group{}
	for _, p := range readProcs(root) {
		name, system := classify(p, known)
		if name == "" {
			continue
		}
		g := groups[name]
		g.name, g.system = name, system
		g.ticks += p.cpuTicks
		g.rssKiB += p.rssKiB
		g.pssKiB += p.pssKiB
		g.procs++
		groups[name] = g
	}
	return groups
}

// cost is one role's CPU time over a phase of the run.
type cost struct {
	name   string
	system bool
	cpuMs  float64
}

// costs returns the CPU milliseconds each role used between two
// snapshots, most first. A role whose processes all exited meanwhile is
// left out.
func costs(before, after map[string]group) []cost {
	var out []cost
	for name, a := range after {
		d := float64(a.ticks-before[name].ticks) * 1000 / clockTicks
		out = append(out, cost{name: name, system: a.system, cpuMs: d})
	}
	slices.SortFunc(out, func(x, y cost) int {
		switch {
		case x.cpuMs > y.cpuMs:
			return -1
		case x.cpuMs < y.cpuMs:
			return 1
		}
		return strings.Compare(x.name, y.name)
	})
	return out
}
