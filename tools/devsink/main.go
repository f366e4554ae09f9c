// Command devsink stands in for the SMS and push providers in development
// and tests: it records every request it receives and lists them as JSON.
//
//	POST /<anything>                  recorded
//	GET  /messages[?path=/sms]        what was recorded, oldest first
//	DELETE /messages                  forget everything
//	GET  /healthz
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	if err := run(ctx, *addr); err != nil {
		slog.Error("exit", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: newSink(time.Now).routes(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("devsink listening", "addr", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// message is one recorded request. Body is the JSON sent, or a JSON string
// when the body was not JSON.
type message struct {
	Path        string          `json:"path"`
	ContentType string          `json:"content_type"`
	Body        json.RawMessage `json:"body"`
	ReceivedAt  time.Time       `json:"received_at"`
}

type sink struct {
	now  func() time.Time
	mu   sync.Mutex
	msgs []message
}

func newSink(now func() time.Time) *sink { return &sink{now: now} }

const maxBody = 1 << 20

func (s *sink) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /messages", s.list)
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.msgs = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /", s.record)
	mux.HandleFunc("PUT /", s.record)
	return mux
}

func (s *sink) record(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if !json.Valid(body) {
		body, _ = json.Marshal(string(body))
	}
	m := message{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body, ReceivedAt: s.now().UTC()}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *sink) list(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("path")
	s.mu.Lock()
	out := make([]message, 0, len(s.msgs))
	for _, m := range s.msgs {
		if path == "" || m.Path == path {
			out = append(out, m)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
