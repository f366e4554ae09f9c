package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// maxLine bounds how much of an unterminated line is buffered, so a child
// that never writes a newline cannot grow the runner's memory without limit.
const maxLine = 64 << 10

// lineSink writes whole lines to w under a lock, so that output from many
// children never interleaves mid-line.
type lineSink struct {
	mu sync.Mutex
	w  io.Writer
}

// writeLines writes each line of block ('\n'-separated, without a final
// newline) with prefix, in one Write: a busy app's lines arrive several
// at a time, and a write per line cost the runner a system call each.
func (s *lineSink) writeLines(prefix string, block []byte) {
	buf := make([]byte, 0, len(block)+(bytes.Count(block, []byte{'\n'})+1)*(len(prefix)+1))
	for line := range bytes.SplitSeq(block, []byte{'\n'}) {
		buf = append(buf, prefix...)
		buf = append(buf, line...)
		buf = append(buf, '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A failing console or log file has nowhere better to be reported.
	_, _ = s.w.Write(buf)
}

// logf writes one of the runner's own messages.
func (s *lineSink) logf(format string, args ...any) {
	s.writeLines("[runner] ", fmt.Appendf(nil, format, args...))
}

// lineTarget is one place a child's lines go, with the prefix used there.
type lineTarget struct {
	sink   *lineSink
	prefix string
}

// lineWriter splits one output stream of a child into lines and sends each
// complete line to every target. It is used by a single goroutine (the one
// os/exec copies the stream with), so it needs no lock of its own.
type lineWriter struct {
	targets []lineTarget
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	if i := bytes.LastIndexByte(w.partial, '\n'); i >= 0 {
		w.emit(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) >= maxLine {
		w.flush()
	}
	return len(p), nil
}

// flush emits a trailing line that has no newline yet.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.emit(w.partial)
		w.partial = w.partial[:0]
	}
}

// emit sends one or more lines ('\n'-separated) to every target.
func (w *lineWriter) emit(lines []byte) {
	for _, t := range w.targets {
		t.sink.writeLines(t.prefix, lines)
	}
}
