package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrExampleSecret is the error RefuseExampleSecret returns (wrapped) for an example value.
var ErrExampleSecret = errors.New(`holds the example placeholder of the deployment files ("change-me...")`)

// exampleMarkers are the parts of the placeholder passwords that the deployment examples ship
// (deploy/compose/.env.example, deploy/k8s/secrets.env.example: "change-me-ingest", ...).
var exampleMarkers = []string{"change-me", "changeme", "change_me"}

// RefuseExampleSecret returns an error wrapping ErrExampleSecret when value, the password or token
// named name (a flag or variable name, for the message), is or contains an example placeholder
// such as "change-me-ingest". value may be a whole DSN: a placeholder anywhere in it (its
// password) is refused. The error names the setting, never its value.
func RefuseExampleSecret(name, value string) error {
	v := strings.ToLower(value)
	for _, m := range exampleMarkers {
		if strings.Contains(v, m) {
			return fmt.Errorf("config: %s %w: set a password of your own", name, ErrExampleSecret)
		}
	}
	return nil
}

// RefuseExampleSecrets calls RefuseExampleSecret for every pair of name and value in
// namesAndValues (name, value, name, value...) and joins the errors. An odd number of arguments
// is a programming error and is reported as one.
func RefuseExampleSecrets(namesAndValues ...string) error {
	if len(namesAndValues)%2 != 0 {
		return errors.New("config: RefuseExampleSecrets: want pairs of name and value")
	}
	var errs []error
	for i := 0; i < len(namesAndValues); i += 2 {
		errs = append(errs, RefuseExampleSecret(namesAndValues[i], namesAndValues[i+1]))
	}
	return errors.Join(errs...)
}
