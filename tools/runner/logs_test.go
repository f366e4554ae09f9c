package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLineWriterPrefixesWholeLines(t *testing.T) {
	var console, file bytes.Buffer
	w := &lineWriter{targets: []lineTarget{
		{sink: &lineSink{w: &console}, prefix: "[orders] "},
		{sink: &lineSink{w: &file}},
	}}

	for _, chunk := range []string{"first li", "ne\nsecond line\nthi", "rd"} {
		n, err := w.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	require.Equal(t, "[orders] first line\n[orders] second line\n", console.String())

	w.flush()
	require.Equal(t, "[orders] first line\n[orders] second line\n[orders] third\n", console.String())
	require.Equal(t, "first line\nsecond line\nthird\n", file.String())
}

// countingWriter counts the writes it gets.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestLineWriterWritesAChunksLinesAtOnce(t *testing.T) {
	var out countingWriter
	w := &lineWriter{targets: []lineTarget{{sink: &lineSink{w: &out}, prefix: "[orders] "}}}
	_, err := w.Write([]byte("one\ntwo\nthree\nfo"))
	require.NoError(t, err)
	require.Equal(t, "[orders] one\n[orders] two\n[orders] three\n", out.String())
	require.Equal(t, 1, out.writes, "one write for the chunk's whole lines")
}

func TestLineWriterBoundsUnterminatedLines(t *testing.T) {
	var out bytes.Buffer
	w := &lineWriter{targets: []lineTarget{{sink: &lineSink{w: &out}}}}
	_, err := w.Write(bytes.Repeat([]byte("x"), maxLine+1))
	require.NoError(t, err)
	require.Equal(t, maxLine+2, out.Len(), "the oversized fragment is emitted as a line")
	require.Empty(t, w.partial)
}

func TestLineSinkDoesNotInterleaveConcurrentWriters(t *testing.T) {
	var out bytes.Buffer
	console := &lineSink{w: &out}
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			w := &lineWriter{targets: []lineTarget{{sink: console, prefix: fmt.Sprintf("[w%d] ", i)}}}
			for range lines {
				// Split every line over two writes to invite interleaving.
				_, _ = w.Write([]byte("hello "))
				_, _ = w.Write([]byte("world\n"))
			}
		})
	}
	wg.Wait()

	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, writers*lines)
	for _, line := range got {
		require.Regexp(t, `^\[w\d\] hello world$`, line)
	}
}
