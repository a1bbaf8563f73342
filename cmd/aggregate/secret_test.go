package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMainProcess runs main with the arguments after "--" when the test binary is started by
// TestRefusesExamplePasswords; otherwise it does nothing.
func TestMainProcess(t *testing.T) {
	if os.Getenv("GOVPULSE_TEST_MAIN_PROCESS") != "1" {
		t.Skip("runs only as the child process of TestRefusesExamplePasswords")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{"aggregate"}, os.Args[i+1:]...)
			break
		}
	}
	main()
	os.Exit(0)
}

// TestRefusesExamplePasswords starts the command with the example passwords of the deployment
// files and checks that it exits non-zero, naming the setting and not repeating the password.
func TestRefusesExamplePasswords(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"nats password from the environment", []string{"GOVPULSE_NATS_USER=aggregate", "GOVPULSE_NATS_PASSWORD=change-me-aggregate"}, nil, "GOVPULSE_NATS_PASSWORD"},
		{"nats password flag", nil, []string{"--nats-user", "aggregate", "--nats-password", "change-me-aggregate"}, "--nats-password"},
		{"clickhouse password", []string{"GOVPULSE_CLICKHOUSE_PASSWORD=change-me-clickhouse"}, nil, "GOVPULSE_CLICKHOUSE_PASSWORD"},
		{"clickhouse dsn", nil, []string{"--clickhouse-dsn", "clickhouse://govpulse:change-me-clickhouse@127.0.0.1:1/govpulse"}, "--clickhouse-dsn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestMainProcess$", "--"}, tt.args...)...)
			cmd.Env = append(os.Environ(), append([]string{"GOVPULSE_TEST_MAIN_PROCESS=1", "GOVPULSE_NATS_URL=nats://127.0.0.1:1"}, tt.env...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit %v, want a non-zero status; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "example placeholder") {
				t.Errorf("output does not name %s as an example placeholder:\n%s", tt.want, out)
			}
			if strings.Contains(string(out), "change-me-") {
				t.Errorf("output repeats the password:\n%s", out)
			}
		})
	}
}
