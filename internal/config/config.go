// Package config reads command-line flags whose defaults come from
// GOVPULSE_* environment variables. The precedence is: a flag given on the
// command line wins, else the environment variable when it is set (even to
// an empty string), else the built-in default. The usage text lists every
// flag with its environment variable and built-in default.
//
// The package does not read the environment itself: the caller passes a
// lookup function (os.LookupEnv in a main), so tests stay hermetic.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LookupEnv looks up an environment variable; os.LookupEnv has this type.
type LookupEnv func(key string) (string, bool)

// FlagSet wraps a flag.FlagSet whose flags take their defaults from the
// environment. It is not safe for concurrent use.
type FlagSet struct {
	fs      *flag.FlagSet
	lookup  LookupEnv
	entries []entry
	errs    []error
}

type entry struct {
	name, env, def, usage, kind string
}

// New returns a FlagSet for the named command. lookup may be nil (no
// environment).
func New(name string, lookup LookupEnv) *FlagSet {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	f := &FlagSet{fs: flag.NewFlagSet(name, flag.ContinueOnError), lookup: lookup}
	f.fs.Usage = f.usage
	return f
}

// SetOutput sets where usage and error messages go (standard error by
// default).
func (f *FlagSet) SetOutput(w io.Writer) { f.fs.SetOutput(w) }

// Flags returns the underlying flag.FlagSet.
func (f *FlagSet) Flags() *flag.FlagSet { return f.fs }

// env returns the value of the environment variable env, if set.
func (f *FlagSet) env(env string) (string, bool) {
	if env == "" {
		return "", false
	}
	return f.lookup(env)
}

func (f *FlagSet) add(name, env, def, usage, kind string) {
	f.entries = append(f.entries, entry{name: name, env: env, def: def, usage: usage, kind: kind})
}

func (f *FlagSet) envError(env, v string, err error) {
	f.errs = append(f.errs, fmt.Errorf("config: %s=%q: %w", env, v, err))
}

// String defines a string flag with an environment variable env (may be
// empty for none) and a built-in default.
func (f *FlagSet) String(name, env, def, usage string) *string {
	v := def
	if s, ok := f.env(env); ok {
		v = s
	}
	f.add(name, env, strconv.Quote(def), usage, "string")
	return f.fs.String(name, v, usage)
}

// Duration defines a time.Duration flag (values such as "90s", "5m").
func (f *FlagSet) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	v := def
	if s, ok := f.env(env); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			f.envError(env, s, err)
		} else {
			v = d
		}
	}
	f.add(name, env, def.String(), usage, "duration")
	return f.fs.Duration(name, v, usage)
}

// Int defines an int flag.
func (f *FlagSet) Int(name, env string, def int, usage string) *int {
	v := def
	if s, ok := f.env(env); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			f.envError(env, s, err)
		} else {
			v = n
		}
	}
	f.add(name, env, strconv.Itoa(def), usage, "int")
	return f.fs.Int(name, v, usage)
}

// Int64 defines an int64 flag.
func (f *FlagSet) Int64(name, env string, def int64, usage string) *int64 {
	v := def
	if s, ok := f.env(env); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			f.envError(env, s, err)
		} else {
			v = n
		}
	}
	f.add(name, env, strconv.FormatInt(def, 10), usage, "int")
	return f.fs.Int64(name, v, usage)
}

// Bool defines a bool flag (environment values as strconv.ParseBool reads
// them: 1, t, true, 0, f, false...).
func (f *FlagSet) Bool(name, env string, def bool, usage string) *bool {
	v := def
	if s, ok := f.env(env); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			f.envError(env, s, err)
		} else {
			v = b
		}
	}
	f.add(name, env, strconv.FormatBool(def), usage, "")
	return f.fs.Bool(name, v, usage)
}

// Parse parses the command-line arguments (without the program name). It
// returns flag.ErrHelp after printing the usage for -h or --help, and an
// error naming the variable when an environment value does not parse.
// Positional arguments are refused.
func (f *FlagSet) Parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return errors.Join(f.errs...)
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("config: unexpected argument %q", f.fs.Arg(0))
	}
	return nil
}

// Usage writes the usage text to the output of the flag set.
func (f *FlagSet) Usage() { f.usage() }

func (f *FlagSet) usage() {
	w := f.fs.Output()
	fmt.Fprintf(w, "Usage of %s:\n", f.fs.Name())
	fmt.Fprintf(w, "Flags (a flag wins over its environment variable, which wins over the default):\n")
	for _, e := range f.entries {
		head := "  --" + e.name
		if e.kind != "" {
			head += " " + e.kind
		}
		fmt.Fprintf(w, "%s\n    \t%s\n    \tdefault %s", head, e.usage, e.def)
		if e.env != "" {
			fmt.Fprintf(w, ", env %s", e.env)
		}
		fmt.Fprintln(w)
	}
}
