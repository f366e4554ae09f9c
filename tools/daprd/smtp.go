package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/dapr/components-contrib/bindings"
	"github.com/dapr/components-contrib/bindings/smtp"
	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/kit/logger"
	kitmd "github.com/dapr/kit/metadata"
	"gopkg.in/gomail.v2"
)

// onceSMTP is the SMTP output binding this daprd registers in place of
// components-contrib's (1.14), which cannot help a mail arrive once:
//   - It composes no Message-ID and takes no header from the request. Here
//     a request's messageID metadata becomes the mail's Message-ID,
//     <messageID@the domain of emailFrom>: each send of one message
//     carries the same, so a mail that reaches a mailbox twice can be
//     recognised, and mail clients show it once.
//   - Its errors cannot tell a mail the server never kept from one it may
//     have kept. Here an error says "smtp: outcome unknown" when the
//     connection broke after the whole message was written and before the
//     server answered (the server may have kept it), and "smtp: not sent"
//     otherwise: failing earlier, or refused by the server.
//
// Settings, request metadata and defaults are otherwise upstream's.
type onceSMTP struct {
	log logger.Logger
	md  smtp.Metadata
}

func newOnceSMTP(log logger.Logger) bindings.OutputBinding { return &onceSMTP{log: log} }

// Upstream's bounds and defaults.
const (
	smtpDefaultPriority = 3
	smtpLowestPriority  = 1
	smtpHighestPriority = 5
)

func (s *onceSMTP) Init(_ context.Context, meta bindings.Metadata) error {
	if err := kitmd.DecodeMetadata(meta.Properties, &s.md); err != nil {
		return err
	}
	if s.md.Host == "" || s.md.Port == 0 {
		return errors.New("smtp binding: host and port are required")
	}
	if (s.md.User == "") != (s.md.Password == "") {
		return errors.New("smtp binding: user and password go together")
	}
	return parsePriority(&s.md, meta.Properties["priority"])
}

func (s *onceSMTP) Operations() []bindings.OperationKind {
	return []bindings.OperationKind{bindings.CreateOperation}
}

func (s *onceSMTP) GetComponentMetadata() (info metadata.MetadataMap) {
	metadata.GetMetadataInfoFromStructType(reflect.TypeOf(smtp.Metadata{}), &info, metadata.BindingType)
	return info
}

// messageIDs are what a request may name its mail by: no header syntax,
// no line break.
var messageIDs = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// Invoke sends one mail, as upstream does, with its Message-ID when the
// request names one.
func (s *onceSMTP) Invoke(_ context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	md := s.md
	for name, field := range map[string]*string{
		"emailFrom": &md.EmailFrom, "emailTo": &md.EmailTo, "emailCC": &md.EmailCC, "emailBCC": &md.EmailBCC, "subject": &md.Subject,
	} {
		if v := req.Metadata[name]; v != "" {
			*field = v
		}
	}
	if v := req.Metadata["priority"]; v != "" {
		if err := parsePriority(&md, v); err != nil {
			return nil, err
		}
	}
	for name, v := range map[string]string{"emailFrom": md.EmailFrom, "emailTo": md.EmailTo, "subject": md.Subject} {
		if v == "" {
			return nil, fmt.Errorf("smtp binding: no %s in the component or the request", name)
		}
	}
	msg := gomail.NewMessage()
	msg.SetHeader("From", md.EmailFrom)
	msg.SetHeader("To", strings.Split(md.EmailTo, ";")...)
	if md.EmailCC != "" {
		msg.SetHeader("Cc", strings.Split(md.EmailCC, ";")...)
	}
	if md.EmailBCC != "" {
		msg.SetHeader("Bcc", strings.Split(md.EmailBCC, ";")...)
	}
	msg.SetHeader("Subject", md.Subject)
	msg.SetHeader("X-priority", strconv.Itoa(md.Priority))
	if id := req.Metadata["messageID"]; id != "" {
		header, err := messageIDHeader(id, md.EmailFrom)
		if err != nil {
			return nil, err
		}
		msg.SetHeader("Message-ID", header)
	}
	// Upstream's: data sent over HTTP arrives as a quoted JSON string.
	body, err := strconv.Unquote(string(req.Data))
	if err != nil {
		body = string(req.Data)
	}
	msg.SetBody("text/html", body)

	dialer := gomail.NewDialer(md.Host, md.Port, md.User, md.Password)
	if md.SkipTLSVerify {
		dialer.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the component's own choice, as upstream
	}
	conn, err := dialer.Dial()
	if err != nil {
		return nil, fmt.Errorf("smtp: not sent: %w", err)
	}
	sender := &outcomeSender{SendCloser: conn}
	err = gomail.Send(sender, msg)
	_ = conn.Close() // QUIT: the server answered for the mail already
	if sender.err != nil {
		return nil, sender.err
	}
	if err != nil {
		return nil, fmt.Errorf("smtp: not sent: %w", err)
	}
	return nil, nil
}

// messageIDHeader is <id@domain of from>.
func messageIDHeader(id, from string) (string, error) {
	if !messageIDs.MatchString(id) {
		return "", errors.New("smtp binding: messageID must be 1 to 128 letters, digits, '.', '_' or '-'")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("smtp binding: emailFrom: %w", err)
	}
	_, domain, ok := strings.Cut(addr.Address, "@")
	if !ok || domain == "" {
		return "", fmt.Errorf("smtp binding: emailFrom %q has no domain for a Message-ID", from)
	}
	return "<" + id + "@" + domain + ">", nil
}

// outcomeSender sends through SendCloser and tells, of a failed send,
// whether the server may have kept the mail.
type outcomeSender struct {
	gomail.SendCloser
	err error
}

func (o *outcomeSender) Send(from string, to []string, msg io.WriterTo) error {
	written := false
	err := o.SendCloser.Send(from, to, writerTo(func(w io.Writer) (int64, error) {
		n, err := msg.WriteTo(w)
		written = err == nil
		return n, err
	}))
	var refused *textproto.Error
	switch {
	case err == nil:
	case written && !errors.As(err, &refused):
		// The message was out; its final dot or the answer to it was lost.
		o.err = fmt.Errorf("smtp: outcome unknown, the server may have kept the mail: %w", err)
	default:
		o.err = fmt.Errorf("smtp: not sent: %w", err)
	}
	return err
}

type writerTo func(w io.Writer) (int64, error)

func (f writerTo) WriteTo(w io.Writer) (int64, error) { return f(w) }

func parsePriority(md *smtp.Metadata, v string) error {
	if v == "" {
		md.Priority = smtpDefaultPriority
		return nil
	}
	p, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("smtp binding: priority: %w", err)
	}
	if p < smtpLowestPriority || p > smtpHighestPriority {
		return fmt.Errorf("smtp binding: priority must be between %d and %d", smtpLowestPriority, smtpHighestPriority)
	}
	md.Priority = p
	return nil
}
