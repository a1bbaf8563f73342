package configtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/govpulse/govpulse/internal/config"
)

// Env returns a lookup of the variables in m, in place of the process environment.
func Env(m map[string]string) config.LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// SecretCase is one setting given an example placeholder of the deployment files: the command's
// arguments and environment, and the flag or variable name its error must give.
type SecretCase struct {
	Name string
	Args []string
	Env  map[string]string
	Want string
}

// CheckRefusesExampleSecrets runs a command once per case, as run does with those arguments and
// that environment, and checks that it refuses to start: an error that matches
// config.ErrExampleSecret, names the setting and never repeats the password.
func CheckRefusesExampleSecrets(t *testing.T, run func(ctx context.Context, args []string, lookup config.LookupEnv) error, cases []SecretCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			// A command that did not refuse would go on to dial; the deadline stops it.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, tc.Args, Env(tc.Env))
			if !errors.Is(err, config.ErrExampleSecret) {
				t.Fatalf("run = %v, want the example password refused", err)
			}
			if !strings.Contains(err.Error(), tc.Want) {
				t.Errorf("error %q does not name %s", err, tc.Want)
			}
			if strings.Contains(err.Error(), "change-me-") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}
