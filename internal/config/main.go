package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrUsage is returned by a command whose arguments are wrong after it printed what is expected;
// [Main] exits with status 2 for it.
var ErrUsage = errors.New("usage")

// Main is the whole main function of a govpulse command: it runs run with the process's
// arguments, environment, standard output and standard error, under a context that SIGINT and
// SIGTERM cancel, and exits with status 0 when run returns nil or flag.ErrHelp (the usage was
// printed), 2 for an error matching [ErrUsage] and 1, after printing "name: error", for any other.
func Main(name string, run func(ctx context.Context, args []string, lookup LookupEnv, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(name, err, os.Stderr))
}

// exitCode prints err for the command name when it is one to print, and returns the exit status.
func exitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}
