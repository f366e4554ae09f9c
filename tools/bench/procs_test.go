package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	t.Run("a name with spaces and parentheses", func(t *testing.T) {
		// Fields as the kernel writes them: utime 7, stime 3, cutime 20, cstime 5.
		stat := "4242 (my (odd) app) S 17 4242 4242 0 -1 4194560 100 0 0 0 7 3 20 5 20 0 9 0 1234 1000 50 18446744073709551615\n"
		pid, ppid, comm, ticks, err := parseStat([]byte(stat))
		require.NoError(t, err)
		assert.Equal(t, 4242, pid)
		assert.Equal(t, 17, ppid)
		assert.Equal(t, "my (odd) app", comm)
		assert.EqualValues(t, 35, ticks, "user + system, its own and its waited-for children's")
	})
	t.Run("truncated", func(t *testing.T) {
		_, _, _, _, err := parseStat([]byte("12 (x) S 1 2"))
		assert.Error(t, err)
	})
	t.Run("this process", func(t *testing.T) {
		b, err := os.ReadFile("/proc/self/stat")
		require.NoError(t, err)
		pid, _, _, _, err := parseStat(b)
		require.NoError(t, err)
		assert.Equal(t, os.Getpid(), pid)
	})
}

func TestParseRSS(t *testing.T) {
	assert.EqualValues(t, 20480, parseRSS([]byte("Name:\tx\nVmPeak:\t  99999 kB\nVmRSS:\t   20480 kB\nThreads:\t3\n")))
	assert.EqualValues(t, 0, parseRSS([]byte("Name:\tkthreadd\nThreads:\t1\n")), "kernel threads have no RSS")
}

// TestSnapshot reads a made-up /proc: the runner's children are the
// shop's apps and sidecars, every postgres process adds up to one role,
// and processes the bench started are named by it.
func TestSnapshot(t *testing.T) {
	root := t.TempDir()
	write := func(pid, stat, rss string, args ...string) {
		dir := filepath.Join(root, pid)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte("VmRSS:\t"+rss+" kB\n"), 0o644))
		cmdline := ""
		for _, a := range args {
			cmdline += a + "\x00"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmdline), 0o644))
	}
	stat := func(pid, comm, ppid, utime, stime string) string {
		return pid + " (" + comm + ") S " + ppid + " 0 0 0 -1 0 0 0 0 0 " + utime + " " + stime + " 0 0 20 0 1 0 1 1 1\n"
	}
	write("100", stat("100", "runner", "1", "1", "1"), "1000")
	write("101", stat("101", "daprd-perf", "100", "300", "100"), "60000", "/bin/daprd-perf", "--app-id", "products", "--app-port", "3002")
	write("102", stat("102", "products", "100", "50", "50"), "30000", "/x/.bin/products")
	write("200", stat("200", "postgres", "1", "10", "10"), "8000", "/usr/lib/postgresql/bin/postgres")
	write("201", stat("201", "postgres", "200", "5", "5"), "4000", "postgres: products")
	write("300", stat("300", "daprd", "1", "70", "0"), "50000", "daprd", "--app-id", "floor")
	write("400", stat("400", "sshd", "1", "999", "999"), "5000", "sshd")

	before := snapshot(root, map[int]string{100: "runner", 300: "floor sidecar"})
	assert.Equal(t, map[string]group{
		"products sidecar": {name: "products sidecar", system: true, ticks: 400, rssKiB: 60000, procs: 1},
		"products app":     {name: "products app", system: true, ticks: 100, rssKiB: 30000, procs: 1},
		"postgresql":       {name: "postgresql", ticks: 30, rssKiB: 12000, procs: 2},
		"floor sidecar":    {name: "floor sidecar", ticks: 70, rssKiB: 50000, procs: 1},
		"runner":           {name: "runner", ticks: 2, rssKiB: 1000, procs: 1},
	}, before)

	write("101", stat("101", "daprd-perf", "100", "500", "150"), "61000", "/bin/daprd-perf", "--app-id", "products")
	after := snapshot(root, map[int]string{100: "runner", 300: "floor sidecar"})
	got := costs(before, after)
	require.NotEmpty(t, got)
	assert.Equal(t, cost{name: "products sidecar", system: true, cpuMs: 2500}, got[0], "250 ticks of 10 ms")
	for _, c := range got[1:] {
		assert.Zero(t, c.cpuMs, c.name)
	}
}
