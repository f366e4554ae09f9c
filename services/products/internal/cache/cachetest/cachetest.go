// Package cachetest holds a state store in memory, standing in for the
// sidecar's in tests of the cache and of what reads through it.
package cachetest

import (
	"context"
	"sync"

	dapr "github.com/dapr/go-sdk/client"
)

// State is a cache.StateStore in memory; it ignores the store name and
// the TTLs.
type State struct {
	mu     sync.Mutex
	values map[string][]byte
	gets   int
}

// NewState returns an empty State.
func NewState() *State { return &State{values: map[string][]byte{}} }

// Gets is how many reads State has served.
func (s *State) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// GetState reads key; a missing key is an item without a value, as Dapr
// answers.
func (s *State) GetState(_ context.Context, _, key string, _ map[string]string) (*dapr.StateItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	return &dapr.StateItem{Key: key, Value: s.values[key]}, nil
}

// SaveState writes key.
func (s *State) SaveState(_ context.Context, _, key string, data []byte, _ map[string]string, _ ...dapr.StateOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = data
	return nil
}

// DeleteBulkState deletes keys.
func (s *State) DeleteBulkState(_ context.Context, _ string, keys []string, _ map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.values, k)
	}
	return nil
}
