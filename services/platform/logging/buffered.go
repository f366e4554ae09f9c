package logging

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Buffered holds log output for up to a flush interval before writing it
// to w in one write: a service under load logs a line per request, and a
// write per line cost it (and whoever reads its output) a system call
// each. Records at warning level and above are written at once, with the
// lines before them, so the line that explains a crash is not lost with
// the buffer.
type Buffered struct {
	w     io.Writer
	delay time.Duration

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // armed while buf holds unwritten lines
}

// maxBuffered is written at once however soon: a burst does not wait.
const maxBuffered = 32 << 10

// NewBuffered returns w buffered for up to delay.
func NewBuffered(w io.Writer, delay time.Duration) *Buffered {
	return &Buffered{w: w, delay: delay}
}

// Write buffers p, which the JSON handler gives whole lines in.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= maxBuffered {
		return len(p), b.flushLocked()
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.delay, func() { _ = b.Flush() })
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Buffered) flushLocked() error {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// NewWithBuffer is New writing through a Buffered w, flushed at once for
// records at warning level and above. Call flush before exiting.
func NewWithBuffer(w io.Writer, service, level string, delay time.Duration) (log *slog.Logger, flush func() error) {
	b := NewBuffered(w, delay)
	l := New(b, service, level)
	return slog.New(flushingHandler{Handler: l.Handler(), out: b}), b.Flush
}

// flushingHandler flushes its output after each record of warning level
// or above.
type flushingHandler struct {
	slog.Handler
	out *Buffered
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.out.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), out: h.out}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), out: h.out}
}
