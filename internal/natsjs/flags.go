package natsjs

import "github.com/govpulse/govpulse/internal/config"

// URLFlag defines --nats-url (GOVPULSE_NATS_URL), the NATS server URLs every command connects to.
func URLFlag(fs *config.FlagSet) *string {
	return fs.String("nats-url", "GOVPULSE_NATS_URL", DefaultURL, "NATS server URL(s), comma separated")
}

// SubjectPrefixFlag defines --subject-prefix (GOVPULSE_SUBJECT_PREFIX), the first token of every
// subject ([Names.SubjectPrefix]); the variable's old name GOVPULSE_PREFIX still works for one
// release.
func SubjectPrefixFlag(fs *config.FlagSet) *string {
	p := fs.String("subject-prefix", "GOVPULSE_SUBJECT_PREFIX", DefaultSubjectPrefix, "first token of every subject")
	fs.Deprecate("subject-prefix", "", "GOVPULSE_PREFIX")
	return p
}

// SecurityFlags defines the NATS credential and TLS flags shared by every govpulse command on fs
// (each with its GOVPULSE_* variable) and returns a function that reads them into a Security
// once fs has been parsed.
func SecurityFlags(fs *config.FlagSet) func() Security {
	creds := fs.String("nats-creds", "GOVPULSE_NATS_CREDS", "", "NATS creds file (user JWT and nkey seed)")
	user := fs.String("nats-user", "GOVPULSE_NATS_USER", "", "NATS user name")
	password := fs.String("nats-password", "GOVPULSE_NATS_PASSWORD", "", "NATS password (prefer the environment variable to the flag)")
	nkey := fs.String("nats-nkey", "GOVPULSE_NATS_NKEY", "", "NATS nkey seed file")
	ca := fs.String("nats-tls-ca", "GOVPULSE_NATS_TLS_CA", "", "PEM CA file that verifies the NATS server (turns TLS on)")
	cert := fs.String("nats-tls-cert", "GOVPULSE_NATS_TLS_CERT", "", "PEM client certificate for NATS mutual TLS")
	key := fs.String("nats-tls-key", "GOVPULSE_NATS_TLS_KEY", "", "PEM client key for NATS mutual TLS")
	return func() Security {
		return Security{CredsFile: *creds, User: *user, Password: *password, NKeyFile: *nkey,
			TLSCA: *ca, TLSCert: *cert, TLSKey: *key}
	}
}
