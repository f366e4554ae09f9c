package main

import (
	"context"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dapr/components-contrib/bindings"
	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/kit/logger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSMTP is an SMTP server keeping the mails it accepts; after a
// mail's final dot it answers answer, or closes the connection when
// answer is "".
type fakeSMTP struct {
	ln     net.Listener
	answer string
	mu     sync.Mutex
	kept   []string
}

func newFakeSMTP(t *testing.T, answer string) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeSMTP{ln: ln, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	_ = tp.PrintfLine("220 fake")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			body, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			if s.answer == "" || strings.HasPrefix(s.answer, "250") {
				s.mu.Lock()
				s.kept = append(s.kept, string(body))
				s.mu.Unlock()
			}
			if s.answer == "" {
				return // kept, and gone before answering
			}
			_ = tp.PrintfLine("%s", s.answer)
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func (s *fakeSMTP) mails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.kept...)
}

func smtpTo(t *testing.T, s *fakeSMTP) bindings.OutputBinding {
	t.Helper()
	b := newOnceSMTP(logger.NewLogger("test"))
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	require.NoError(t, b.Init(context.Background(), bindings.Metadata{Base: metadata.Base{Properties: map[string]string{
		"host": host, "port": port, "emailFrom": "daprshop <no-reply@shop.example>",
	}}}))
	return b
}

func mailRequest(meta map[string]string) *bindings.InvokeRequest {
	md := map[string]string{"emailTo": "ada@example.com", "subject": "Receipt"}
	for k, v := range meta {
		md[k] = v
	}
	return &bindings.InvokeRequest{Operation: bindings.CreateOperation, Data: []byte("<p>paid</p>"), Metadata: md}
}

func TestSMTPNamesTheMailByTheRequestsMessageID(t *testing.T) {
	server := newFakeSMTP(t, "250 kept")
	b := smtpTo(t, server)
	for range 2 {
		_, err := b.Invoke(context.Background(), mailRequest(map[string]string{"messageID": "0d9b6c52-4a39"}))
		require.NoError(t, err)
	}
	_, err := b.Invoke(context.Background(), mailRequest(nil))
	require.NoError(t, err)

	mails := server.mails()
	require.Len(t, mails, 3)
	for _, m := range mails[:2] {
		assert.Contains(t, m, "Message-ID: <0d9b6c52-4a39@shop.example>\n", "every send of one message carries its id")
		assert.Contains(t, m, "To: ada@example.com\n")
		assert.Contains(t, m, "<p>paid</p>")
	}
	assert.NotContains(t, mails[2], "Message-ID", "a request without one gets none, as upstream's")
}

func TestSMTPRefusesAMessageIDThatIsNotAnID(t *testing.T) {
	server := newFakeSMTP(t, "250 kept")
	b := smtpTo(t, server)
	for _, id := range []string{"a\r\nBcc: all@example.com", "<x@y>", "a b", strings.Repeat("a", 129)} {
		_, err := b.Invoke(context.Background(), mailRequest(map[string]string{"messageID": id}))
		assert.ErrorContains(t, err, "messageID must be", "%q", id)
	}
	assert.Empty(t, server.mails(), "nothing was sent")
}

func TestSMTPErrorsSayWhetherTheServerMayHaveKeptTheMail(t *testing.T) {
	t.Run("gone after the message: outcome unknown", func(t *testing.T) {
		server := newFakeSMTP(t, "")
		_, err := smtpTo(t, server).Invoke(context.Background(), mailRequest(nil))
		assert.ErrorContains(t, err, "smtp: outcome unknown")
		assert.Len(t, server.mails(), 1)
	})
	t.Run("refused after the message: not sent", func(t *testing.T) {
		server := newFakeSMTP(t, "452 mailbox full")
		_, err := smtpTo(t, server).Invoke(context.Background(), mailRequest(nil))
		assert.ErrorContains(t, err, "smtp: not sent")
		assert.NotContains(t, err.Error(), "outcome unknown")
	})
	t.Run("no server: not sent", func(t *testing.T) {
		server := newFakeSMTP(t, "250 kept")
		b := smtpTo(t, server)
		server.ln.Close()
		_, err := b.Invoke(context.Background(), mailRequest(nil))
		assert.ErrorContains(t, err, "smtp: not sent")
	})
}

func TestSMTPKeepsUpstreamsSettings(t *testing.T) {
	init := func(props map[string]string) error {
		return newOnceSMTP(logger.NewLogger("test")).Init(context.Background(), bindings.Metadata{Base: metadata.Base{Properties: props}})
	}
	assert.Error(t, init(map[string]string{"port": "25"}), "no host")
	assert.Error(t, init(map[string]string{"host": "h", "port": "25", "user": "u"}), "user without password")
	assert.Error(t, init(map[string]string{"host": "h", "port": "25", "priority": strconv.Itoa(6)}))
	assert.NoError(t, init(map[string]string{"host": "h", "port": "25", "skipTLSVerify": "true"}))
}
