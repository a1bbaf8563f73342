// Package config reads command-line flags whose defaults come from
// GOVPULSE_* environment variables. The precedence is: a flag given on the
// command line wins, else the environment variable when it is set (even to
// an empty string), else the built-in default. The usage text lists every
// flag with its environment variable and built-in default.
//
// A setting has one name in every command. A renamed flag or variable keeps
// its old name for one release through [FlagSet.Deprecate]: the old name
// still works and prints a deprecation warning.
//
// Config structs follow one convention: the zero value of a field means its
// default, WithDefaults() returns the config with the defaults filled in,
// Validate() reports the first setting that cannot work ("<pkg>: <setting>
// <value>: <rule>"), checking the config with its defaults, and the
// flags take their defaults from Config{}.WithDefaults(), so a default is
// written once.
//
// The package does not read the environment itself: the caller passes a
// lookup function (os.LookupEnv in a main), so tests stay hermetic.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	warns   []string
}

type entry struct {
	name, env, def, usage, kind string
	deprecated                  []string // old names: "--flag" or "GOVPULSE_VAR"
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

// Deprecate keeps the old flag name oldFlag and the old environment variable
// oldEnv (either may be empty) working for the flag name, which must be
// defined before. The flag's own variable wins over oldEnv, and a flag given
// on the command line wins over both. Using an old name prints a
// deprecation warning to the flag set's output during Parse. The usage lists
// the old names with the flag.
func (f *FlagSet) Deprecate(name, oldFlag, oldEnv string) {
	fl := f.fs.Lookup(name)
	i := f.entryIndex(name)
	if fl == nil || i < 0 {
		panic("config: Deprecate of undefined flag --" + name) // a programming error
	}
	e := &f.entries[i]
	if oldFlag != "" {
		e.deprecated = append(e.deprecated, "--"+oldFlag)
		f.fs.Var(&alias{Value: fl.Value, f: f, old: oldFlag, name: name}, oldFlag, "deprecated: use --"+name)
	}
	if oldEnv != "" {
		e.deprecated = append(e.deprecated, oldEnv)
		if v, ok := f.lookup(oldEnv); ok {
			if _, set := f.env(e.env); !set {
				f.warns = append(f.warns, fmt.Sprintf("%s is deprecated; use %s", oldEnv, e.env))
				val := v
				if e.kind != "string" {
					val = strings.TrimSpace(v) // as Int, Duration and Bool read them
				}
				if err := fl.Value.Set(val); err != nil {
					f.envError(oldEnv, v, err)
				}
			}
		}
	}
}

func (f *FlagSet) entryIndex(name string) int {
	for i, e := range f.entries {
		if e.name == name {
			return i
		}
	}
	return -1
}

// alias is the flag.Value of a deprecated flag name: it sets the flag it
// stands for and warns.
type alias struct {
	flag.Value
	f         *FlagSet
	old, name string
}

func (a *alias) Set(s string) error {
	fmt.Fprintf(a.f.fs.Output(), "warning: --%s is deprecated; use --%s\n", a.old, a.name)
	return a.Value.Set(s)
}

// IsBoolFlag lets a deprecated bool flag be given without a value.
func (a *alias) IsBoolFlag() bool {
	b, ok := a.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// LogFlag defines --log-level (GOVPULSE_LOG_LEVEL), the one log flag of every service, and returns
// a function that, once f has been parsed, gives the JSON logger writing to w at that level, or an
// error for a level that is not debug, info, warn or error.
func LogFlag(f *FlagSet) func(w io.Writer) (*slog.Logger, error) {
	name := f.String("log-level", "GOVPULSE_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	return func(w io.Writer) (*slog.Logger, error) {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*name)); err != nil {
			return nil, fmt.Errorf("config: log level %q: %w", *name, err)
		}
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
}

// Parse parses the command-line arguments (without the program name). It
// returns flag.ErrHelp after printing the usage for -h or --help, and an
// error naming the variable when an environment value does not parse.
// Positional arguments are refused.
func (f *FlagSet) Parse(args []string) error {
	for _, w := range f.warns {
		fmt.Fprintln(f.fs.Output(), "warning:", w)
	}
	f.warns = nil
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
		if len(e.deprecated) > 0 {
			fmt.Fprintf(w, "    \tdeprecated: %s\n", strings.Join(e.deprecated, ", "))
		}
	}
}
