package chstore

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/govpulse/govpulse/internal/config"
)

// SecurityFlags defines the ClickHouse credential and TLS flags (--clickhouse-user,
// --clickhouse-password, --clickhouse-tls, --clickhouse-tls-ca, each with its GOVPULSE_* variable)
// on fs and returns a function that turns them into dial options once fs has been parsed.
func SecurityFlags(fs *config.FlagSet) func() ([]DialOption, error) {
	user := fs.String("clickhouse-user", "GOVPULSE_CLICKHOUSE_USER", "", "ClickHouse user (overrides the DSN's)")
	password := fs.String("clickhouse-password", "GOVPULSE_CLICKHOUSE_PASSWORD", "", "ClickHouse password (prefer the environment variable to the flag)")
	useTLS := fs.Bool("clickhouse-tls", "GOVPULSE_CLICKHOUSE_TLS", false, "connect to ClickHouse with TLS (its secure native port, usually 9440)")
	ca := fs.String("clickhouse-tls-ca", "GOVPULSE_CLICKHOUSE_TLS_CA", "", "PEM CA file that verifies the ClickHouse server (implies --clickhouse-tls)")
	return func() ([]DialOption, error) {
		if err := config.RefuseExampleSecret("--clickhouse-password (GOVPULSE_CLICKHOUSE_PASSWORD)", *password); err != nil {
			return nil, err
		}
		return securityOptions(*user, *password, *useTLS, *ca)
	}
}

// securityOptions turns the ClickHouse security settings into dial options.
func securityOptions(user, password string, useTLS bool, caFile string) ([]DialOption, error) {
	var opts []DialOption
	if user != "" || password != "" {
		opts = append(opts, func(o *clickhouse.Options) {
			if user != "" {
				o.Auth.Username = user
			}
			o.Auth.Password = password
		})
	}
	if useTLS || caFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("chstore: clickhouse tls ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("chstore: clickhouse tls ca %s: no PEM certificate", caFile)
			}
		}
		opts = append(opts, func(o *clickhouse.Options) { o.TLS = tc })
	}
	return opts, nil
}

// ClusterFlag defines --clickhouse-cluster (GOVPULSE_CLICKHOUSE_CLUSTER) on fs and returns a
// function that turns it into Store options once fs has been parsed: the cluster variant of the
// schema (OnCluster) when it names a cluster, the single-node schema when it is empty.
func ClusterFlag(fs *config.FlagSet) func() ([]Option, error) {
	name := fs.String("clickhouse-cluster", "GOVPULSE_CLICKHOUSE_CLUSTER", "", "ClickHouse cluster (remote_servers) of the replicated schema: <table>_local replicated tables behind Distributed <table> (empty: the single-node schema)")
	return func() ([]Option, error) {
		if *name == "" {
			return nil, nil
		}
		if !ValidCluster(*name) {
			return nil, fmt.Errorf("chstore: --clickhouse-cluster %q: want an identifier (letters, digits, underscores)", *name)
		}
		return []Option{OnCluster(*name)}, nil
	}
}
