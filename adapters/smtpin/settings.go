package smtpin

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthaste/posthaste/domain/transcript"
)

// settings are the part of Config and MXConfig both servers have, checked, defaulted and
// turned into a go-smtp server and a listener lifecycle in one place. The pointers are into
// the server's own copy of its configuration, so that the defaults land there.
type settings struct {
	hostname        string
	tls             **tls.Config
	plain           []string // listen addresses offering STARTTLS
	implicitTLS     []string // listen addresses with TLS from the first byte
	logger          *slog.Logger
	maxMessageBytes *int64
	maxRecipients   *int
	readTimeout     *time.Duration
	writeTimeout    *time.Duration
	maxConns        *int
	maxPerIP        *int
	clock           *func() time.Time
}

// problems lists every fault of the shared configuration.
func (c settings) problems() []error {
	var errs []error
	if strings.TrimSpace(c.hostname) == "" {
		errs = append(errs, errors.New("hostname is empty"))
	}
	if t := *c.tls; t == nil || (len(t.Certificates) == 0 && t.GetCertificate == nil) {
		errs = append(errs, errors.New("tls config with a certificate is required"))
	}
	if len(c.plain)+len(c.implicitTLS) == 0 {
		errs = append(errs, errors.New("no listen address"))
	}
	if c.logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if *c.maxMessageBytes < 0 || *c.maxRecipients < 0 || *c.maxConns < 0 || *c.maxPerIP < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	return errs
}

// setDefaults gives every zero limit its default (the recipient and per-IP ones differ between
// the servers), and makes the TLS configuration a copy refusing anything older than TLS 1.2
// unless it says otherwise.
func (c settings) setDefaults(maxRecipients, maxPerIP int) {
	if *c.maxMessageBytes == 0 {
		*c.maxMessageBytes = defaultMaxMessageBytes
	}
	if *c.maxRecipients == 0 {
		*c.maxRecipients = maxRecipients
	}
	if *c.readTimeout == 0 {
		*c.readTimeout = 5 * time.Minute
	}
	if *c.writeTimeout == 0 {
		*c.writeTimeout = time.Minute
	}
	if *c.maxConns == 0 {
		*c.maxConns = 1000
	}
	if *c.maxPerIP == 0 {
		*c.maxPerIP = maxPerIP
	}
	if *c.clock == nil {
		*c.clock = time.Now
	}
	t := (*c.tls).Clone()
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	*c.tls = t
}

// smtpServer is a go-smtp server for be with the settings both servers share (SMTPUTF8 on,
// library errors logged as warnings); each server adds its own after.
func (c settings) smtpServer(be smtp.Backend, log *slog.Logger) *smtp.Server {
	srv := smtp.NewServer(be)
	srv.Domain = c.hostname
	srv.TLSConfig = *c.tls
	srv.MaxMessageBytes = *c.maxMessageBytes
	srv.MaxRecipients = *c.maxRecipients
	srv.ReadTimeout = *c.readTimeout
	srv.WriteTimeout = *c.writeTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogPrinter{log}
	return srv
}

// listeners is the lifecycle of srv on the configured addresses; name is "smtp" or "mx" (in
// errors and log lines); onClose receives every connection's transcript (nil: none).
func (c settings) listeners(name string, srv *smtp.Server, log *slog.Logger, onClose func(ConnInfo, *transcript.Transcript)) *listeners {
	prefix := "smtpin: "
	if name != "smtp" {
		prefix += name + " "
	}
	return &listeners{errPrefix: prefix, logName: name, endpoints: endpointsOf(c.plain, c.implicitTLS),
		tls: *c.tls, smtp: srv, log: log,
		conns: newConnTracker(c.hostname, *c.maxConns, *c.maxPerIP, *c.clock, log, onClose)}
}
