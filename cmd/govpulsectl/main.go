// Command govpulsectl feeds scenarios to govpulse and watches its rankings.
//
//	govpulsectl feed  --url http://127.0.0.1:8080 [--scenario sample] [--batch 500] [--rate 0]
//	govpulsectl watch --nats-url nats://127.0.0.1:4222 [--once] [--methods 2017,2022] [--groups key-cities]
//	govpulsectl gen   --out file.ndjson [--scenario sample|2019|synthetic] [--events N]
//	govpulsectl explain REGION --from T1 --to T2 [--json]
//
// Every flag has a GOVPULSE_* environment equivalent (see --help of each
// subcommand).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/config"
	"github.com/govpulse/govpulse/internal/ctl"
	"github.com/govpulse/govpulse/internal/explain"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
)

func main() {
	config.Main("govpulsectl", run)
}

const usage = `usage: govpulsectl <command> [flags]

commands:
  feed   post a scenario to the ingest HTTP API
  watch  print the ranking table as it changes (NATS)
  gen    write a scenario as NDJSON
  explain  explain the change of a unit's score between two times (ClickHouse)
`

// errUsage is returned when no command is given; the usage was printed.
var errUsage = fmt.Errorf("no command: %w", config.ErrUsage)

// run dispatches a subcommand.
func run(ctx context.Context, args []string, env config.LookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "feed":
		return feed(ctx, rest, env, stdout, stderr)
	case "watch":
		return watch(ctx, rest, env, stdout, stderr)
	case "gen":
		return gen(rest, env, stdout, stderr)
	case "explain":
		return explainCmd(ctx, rest, env, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func feed(ctx context.Context, args []string, env config.LookupEnv, stdout, stderr io.Writer) error {
	def := ctl.FeedOptions{}.WithDefaults()
	fs := config.New("govpulsectl feed", env)
	fs.SetOutput(stderr)
	url := fs.String("url", "GOVPULSE_INGEST_URL", "http://127.0.0.1:8080", "base URL of the ingest service")
	name := fs.String("scenario", "GOVPULSE_SCENARIO", ctl.ScenarioSample, "scenario: sample, 2019, synthetic or none")
	n := fs.Int("events", "GOVPULSE_EVENTS", 0, "number of events of the synthetic scenario (0: its default)")
	seed := fs.Int64("seed", "GOVPULSE_SEED", 0, "scenario seed (0: the default)")
	batch := fs.Int("batch", "GOVPULSE_FEED_BATCH", def.Batch, "events per request")
	rate := fs.Int("rate", "GOVPULSE_FEED_RATE", 0, "events per second (0: no limit)")
	token := fs.String("token", "GOVPULSE_INGEST_TOKEN", "", "bearer token for ingest (empty: none)")
	maxElapsed := fs.Duration("retry-for", "GOVPULSE_FEED_RETRY_FOR", def.MaxElapsed, "how long to retry one request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := ctl.Source(*name, *n, *seed)
	if err != nil {
		return err
	}
	sum, err := ctl.Feed(ctx, src, ctl.FeedOptions{
		URL: *url, Batch: *batch, Rate: *rate, Token: *token, MaxElapsed: *maxElapsed,
	})
	fmt.Fprintln(stdout, sum)
	for _, e := range sum.Errors {
		fmt.Fprintln(stderr, "rejected:", e)
	}
	return err
}

func watch(ctx context.Context, args []string, env config.LookupEnv, stdout, stderr io.Writer) error {
	def := ctl.WatchOptions{}.WithDefaults()
	fs := config.New("govpulsectl watch", env)
	fs.SetOutput(stderr)
	url := natsjs.URLFlag(fs)
	prefix := natsjs.SubjectPrefixFlag(fs)
	fs.Deprecate("subject-prefix", "prefix", "GOVPULSE_NATS_PREFIX")
	bucket := fs.String("latest-bucket", "GOVPULSE_LATEST_BUCKET", def.Names.LatestBucket, "KV bucket of the latest scores")
	fs.Deprecate("latest-bucket", "bucket", "")
	interval := fs.Duration("interval", "GOVPULSE_WATCH_INTERVAL", def.Interval, "least time between two tables")
	once := fs.Bool("once", "GOVPULSE_WATCH_ONCE", false, "print the current table from the bucket and exit")
	methods := fs.String("methods", "GOVPULSE_METHODS", scoring.DefaultMethod, "comma-separated scoring methods whose rankings are shown, one table each (as aggregate's --methods)")
	groupList := fs.String("groups", "GOVPULSE_WATCH_GROUPS", "", "comma-separated groups of units whose rankings are shown after the methods' tables, under the first method (such as key-cities; empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ids, err := scoring.ParseMethods(*methods)
	if err != nil {
		return fmt.Errorf("--methods: %w", err)
	}
	var groupNames []string
	for g := range strings.SplitSeq(*groupList, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groupNames = append(groupNames, g)
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := ctl.WatchOptions{
		Names:    natsjs.Names{SubjectPrefix: *prefix, LatestBucket: *bucket},
		Interval: *interval,
		Clear:    isTerminal(stdout),
		Logger:   logger,
		Methods:  ids,
		Groups:   groupNames,
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	nc, err := natsjs.Connect(*url, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	if *once {
		return ctl.Once(ctx, nc, stdout, opts)
	}
	return ctl.Watch(ctx, nc, stdout, opts)
}

func gen(args []string, env config.LookupEnv, stdout, stderr io.Writer) error {
	fs := config.New("govpulsectl gen", env)
	fs.SetOutput(stderr)
	out := fs.String("out", "GOVPULSE_GEN_OUT", "-", "output file (- for standard output)")
	name := fs.String("scenario", "GOVPULSE_SCENARIO", "", "scenario: sample, 2019, synthetic or none (default: synthetic with --events, else sample)")
	n := fs.Int("events", "GOVPULSE_EVENTS", 0, "number of events of the synthetic scenario")
	seed := fs.Int64("seed", "GOVPULSE_SEED", 0, "scenario seed (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		*name = ctl.ScenarioSample
		if *n > 0 {
			*name = ctl.ScenarioSynthetic
		}
	}
	src, err := ctl.Source(*name, *n, *seed)
	if err != nil {
		return err
	}
	w, closeOut := stdout, func() error { return nil }
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		w, closeOut = f, f.Close
	}
	count, err := ctl.WriteNDJSON(w, src)
	if cerr := closeOut(); err == nil && cerr != nil {
		err = fmt.Errorf("gen: close %s: %w", *out, cerr)
	}
	if err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(stderr, "wrote %d events to %s\n", count, *out)
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// explainCmd prints the explanation of a unit's change between two times: the summaries in English
// and Chinese, or with --json the structured form.
func explainCmd(ctx context.Context, args []string, env config.LookupEnv, stdout, stderr io.Writer) error {
	fs := config.New("govpulsectl explain", env)
	fs.SetOutput(stderr)
	dsn := fs.String("clickhouse-dsn", "GOVPULSE_CLICKHOUSE_DSN", chstore.DefaultDSN, "ClickHouse address and database (native protocol)")
	from := fs.String("from", "GOVPULSE_EXPLAIN_FROM", "", "start of the interval, RFC 3339 (empty: the beginning)")
	to := fs.String("to", "GOVPULSE_EXPLAIN_TO", "", "end of the interval, RFC 3339 (empty: now)")
	asJSON := fs.Bool("json", "GOVPULSE_EXPLAIN_JSON", false, "print the structured form as JSON")
	chSecurity := chstore.SecurityFlags(fs)
	// The region comes first or after the flags.
	var region string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		region, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if region == "" && fs.Flags().NArg() == 1 {
		region = fs.Flags().Arg(0)
	} else if fs.Flags().NArg() != 0 || region == "" {
		fmt.Fprintln(stderr, "usage: govpulsectl explain REGION [--from T1] [--to T2] [--json]")
		return fmt.Errorf("explain: one region code: %w", config.ErrUsage)
	}
	t1, t2 := time.Time{}, time.Now()
	for _, p := range []struct {
		flag, v string
		t       *time.Time
	}{{"--from", *from, &t1}, {"--to", *to, &t2}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			return fmt.Errorf("explain: %s %q: want RFC 3339, such as 2017-01-01T00:00:00+08:00: %w", p.flag, p.v, err)
		}
		*p.t = t
	}
	if err := config.RefuseExampleSecrets("--clickhouse-dsn (GOVPULSE_CLICKHOUSE_DSN)", *dsn); err != nil {
		return err
	}
	opts, err := chSecurity()
	if err != nil {
		return err
	}
	conn, database, err := chstore.Dial(ctx, *dsn, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	x, err := explain.Load(ctx, chstore.New(conn, database, nil), region, t1, t2)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	}
	_, err = fmt.Fprintf(stdout, "%s\n%s\n", x.SummaryEN, x.SummaryZH)
	return err
}
