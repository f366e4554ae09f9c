package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// swap replaces one resources path of the run file by another, so that a
// backend (a directory holding one `pubsub` or `statestore` component) is
// chosen at start without copying or editing files.
type swap struct{ from, to string }

// swapList is the repeatable -swap-resources flag.
type swapList []swap

func (l *swapList) String() string {
	parts := make([]string, 0, len(*l))
	for _, s := range *l {
		parts = append(parts, s.from+"="+s.to)
	}
	return strings.Join(parts, ",")
}

func (l *swapList) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || from == "" || to == "" {
		return errors.New("want FROM=TO")
	}
	*l = append(*l, swap{from: from, to: to})
	return nil
}

// applySwaps replaces, in every app, the resources path FROM by TO. Both are
// relative to baseDir (the run file's directory), as common.resourcesPaths
// are. A FROM no app uses is an error: a typo must not silently keep the
// default backend.
func applySwaps(apps []app, baseDir string, swaps swapList) error {
	for _, s := range swaps {
		from, to := absPath(baseDir, s.from), absPath(baseDir, s.to)
		if info, err := os.Stat(to); err != nil {
			return fmt.Errorf("swap-resources %s: %w", s.to, err)
		} else if !info.IsDir() {
			return fmt.Errorf("swap-resources %s: not a directory", s.to)
		}
		used := false
		for i := range apps {
			for j, p := range apps[i].ResourcesPaths {
				if p == from {
					apps[i].ResourcesPaths[j] = to
					used = true
				}
			}
		}
		if !used {
			return fmt.Errorf("swap-resources %s: no app uses this resources path", s.from)
		}
	}
	return nil
}

// runFileDir is the directory relative paths of the run file at path are
// based at.
func runFileDir(path string) (string, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return "", fmt.Errorf("resolve run file directory: %w", err)
	}
	return dir, nil
}
