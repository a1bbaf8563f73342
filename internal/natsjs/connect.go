package natsjs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/govpulse/govpulse/internal/retry"
)

// Connect dials the NATS server at url with the options every govpulse
// process shares: the client name "govpulse", reconnecting forever with an
// exponential backoff from 100ms to 5s (with jitter), and disconnects,
// reconnects, closes and asynchronous errors logged through logger (nil
// discards). opts are applied after these and may override them (for
// example nats.Name or nats.RetryOnFailedConnect). The returned connection
// is safe for concurrent use; the caller closes (or drains) it. Errors name
// the URL with its password redacted; credentials come from
// [Security.Options].
func Connect(url string, logger *slog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("component", "nats")
	base := []nats.Option{
		nats.Name("govpulse"),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(retry.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second}.Delay),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("disconnected", "error", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			logger.Info("connection closed", "error", nc.LastError())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				logger.Error("async error", "subject", sub.Subject, "error", err)
				return
			}
			logger.Error("async error", "error", err)
		}),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect %s: %w", RedactURL(url), err)
	}
	logger.Info("nats connection", "url", nc.ConnectedUrlRedacted(), "status", nc.Status().String())
	return nc, nil
}

// Security names the credentials and TLS files of a NATS connection. The
// zero value means an anonymous plain-text connection. At most one way to
// authenticate may be set: a creds file, a user and password, or an nkey
// seed file. Security is a value type and safe for concurrent use; its
// String method never shows the password.
type Security struct {
	// CredsFile is a creds file (user JWT and nkey seed).
	CredsFile string
	// User and Password authenticate with a user name and password.
	User     string
	Password string
	// NKeyFile is a file holding an nkey user seed.
	NKeyFile string
	// TLSCA is a PEM file of the CAs that verify the server; setting it
	// turns TLS on.
	TLSCA string
	// TLSCert and TLSKey are the PEM client certificate and key for mutual
	// TLS; setting them turns TLS on.
	TLSCert string
	TLSKey  string
}

// Validate reports a combination that cannot work: two ways to
// authenticate, a password without a user, or a certificate without its
// key (or the reverse).
func (s Security) Validate() error {
	n := 0
	for _, set := range []bool{s.CredsFile != "", s.User != "" || s.Password != "", s.NKeyFile != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("natsjs: security: set only one of a creds file, a user and password, or an nkey seed file")
	case s.Password != "" && s.User == "":
		return errors.New("natsjs: security: a password needs a user")
	case (s.TLSCert == "") != (s.TLSKey == ""):
		return errors.New("natsjs: security: set both the TLS certificate and its key, or neither")
	}
	return nil
}

// TLS reports whether s turns TLS on.
func (s Security) TLS() bool { return s.TLSCA != "" || s.TLSCert != "" }

// Options returns the nats.Options that apply s, to pass to Connect. It
// reads the nkey seed, CA and certificate files now, so that a missing or
// malformed file fails here with its name (and never with its content).
func (s Security) Options() ([]nats.Option, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var opts []nats.Option
	switch {
	case s.CredsFile != "":
		opts = append(opts, nats.UserCredentials(s.CredsFile))
	case s.User != "":
		opts = append(opts, nats.UserInfo(s.User, s.Password))
	case s.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(s.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("natsjs: nkey seed file %s: %w", s.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if s.TLSCA != "" {
		opts = append(opts, nats.RootCAs(s.TLSCA))
	}
	if s.TLSCert != "" {
		opts = append(opts, nats.ClientCert(s.TLSCert, s.TLSKey))
	}
	// Check the files now rather than at the first dial.
	var o nats.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("natsjs: security: %w", err)
		}
	}
	return opts, nil
}

// String describes s for logs without secrets: which way it
// authenticates and whether TLS is on.
func (s Security) String() string {
	auth := "none"
	switch {
	case s.CredsFile != "":
		auth = "creds file " + s.CredsFile
	case s.User != "":
		auth = "user " + s.User
	case s.NKeyFile != "":
		auth = "nkey seed file " + s.NKeyFile
	}
	return fmt.Sprintf("auth=%s tls=%t", auth, s.TLS())
}

// RedactURL returns the comma-separated server URLs with any password
// replaced by "xxxxx", so that they can appear in logs and errors.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			if strings.Contains(p, "@") {
				parts[i] = "(unparsable URL)"
			}
			continue
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
