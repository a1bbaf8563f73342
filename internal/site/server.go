package site

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/chstore"
	"github.com/govpulse/govpulse/internal/natsjs"
	"github.com/govpulse/govpulse/internal/scoring"
	"github.com/govpulse/govpulse/pkg/events"
)

// Server is the site: the latest state, the stream clients and the HTTP handler. Create it with
// [New], serve [Server.Handler] and run [Server.Run]; it is safe for concurrent use.
type Server struct {
	cfg     Config
	nc      *nats.Conn
	store   *chstore.Store
	log     *slog.Logger
	metrics *metrics
	limiter *limiter
	beat    *frame
	static  fs.FS // web/static
	ready   atomic.Bool

	mu       sync.Mutex
	ranking  *scoring.Ranking
	rankingF *frame // the ranking as a stream event, nil before the first
	scores   map[string]*scoring.Score
	scoresF  map[string]*frame
	clients  map[*client]struct{}
	closed   bool // Run has ended: no new stream clients
	// others holds the latest ranking and scores of every method but the default, which the API
	// serves (?method=) and the stream does not carry.
	others map[string]*methodState
	// groups holds the latest ranking of each group of units beside the provincial units, by
	// name, and groupsF each as a stream event (units.go).
	groups  map[string]*scoring.Ranking
	groupsF map[string]*frame
}

// methodState is the latest ranking and scores of one method other than the default.
type methodState struct {
	ranking *scoring.Ranking
	scores  map[string]*scoring.Score
}

// client is one stream connection. Its channel is closed when it is dropped or the server stops.
type client struct {
	ch     chan *frame
	region string   // "" for the scores of every provincial unit
	groups []string // the groups whose rankings it follows
}

// New returns a Server that reads NATS through nc and ClickHouse through store. reg may be nil (no
// metrics) and logger nil (discard).
func New(cfg Config, nc *nats.Conn, store *chstore.Store, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nc == nil || store == nil {
		return nil, errors.New("site: new: nil NATS connection or store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		return nil, fmt.Errorf("site: embedded assets: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg: cfg, nc: nc, store: store, log: logger.With("component", "site"), metrics: m,
		limiter: newLimiter(cfg.RateLimit, cfg.RateBurst, cfg.RateClients),
		beat:    &frame{data: []byte(heartbeat)}, static: static,
		scores: map[string]*scoring.Score{}, scoresF: map[string]*frame{}, clients: map[*client]struct{}{},
		others: others(cfg.Methods), groups: map[string]*scoring.Ranking{}, groupsF: map[string]*frame{},
	}, nil
}

// others returns an empty state of every method but the default.
func others(methods []string) map[string]*methodState {
	out := make(map[string]*methodState)
	for _, m := range methods {
		if m != scoring.DefaultMethod {
			out[m] = &methodState{scores: map[string]*scoring.Score{}}
		}
	}
	return out
}

// Ready reports nil once the server has read the latest-value bucket and while it is connected
// to NATS.
func (s *Server) Ready() error {
	if !s.ready.Load() {
		return errors.New("site: the latest values have not been read from NATS yet")
	}
	if !s.nc.IsConnected() {
		return errors.New("site: not connected to NATS")
	}
	return nil
}

// Run subscribes to the rankings and scores, reads the latest-value bucket, and applies every
// message until ctx is done; then it closes every stream and returns nil. It is called once.
func (s *Server) Run(ctx context.Context) error {
	defer s.closeAll()
	msgs := make(chan *nats.Msg, 4096)
	rankings := s.cfg.Names.RankingsSubject()
	scores := strings.TrimSuffix(s.cfg.Names.ScoreSubject("x"), "x") + "*"
	// A message's subscription says what it is: the default method's ranking or score, or one of
	// another method.
	type kind struct {
		method  string // "" for the default method
		ranking bool
		group   bool // the ranking of a group of units beside the provincial units
	}
	kinds := make(map[*nats.Subscription]kind)
	subjects := []struct {
		subject string
		kind    kind
	}{{rankings, kind{ranking: true}}, {scores, kind{}}, {s.cfg.Names.GroupRankingsSubjects(), kind{group: true}}}
	for _, m := range s.cfg.Methods {
		if m != scoring.DefaultMethod {
			subjects = append(subjects, struct {
				subject string
				kind    kind
			}{s.cfg.Names.MethodRankingsSubject(m), kind{method: m, ranking: true}}, struct {
				subject string
				kind    kind
			}{s.cfg.Names.MethodScoreSubjects(m), kind{method: m}})
		}
	}
	for _, sj := range subjects {
		sub, err := s.nc.ChanSubscribe(sj.subject, msgs)
		if err != nil {
			return fmt.Errorf("site: subscribe %s: %w", sj.subject, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		kinds[sub] = sj.kind
	}
	// The subscriptions reach the server before the bucket is read, so nothing falls in between.
	fctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	err := s.nc.FlushWithContext(fctx)
	cancel()
	if err != nil && ctx.Err() == nil {
		s.log.Warn("nats not reachable yet; the subscriptions are sent when it is", "error", err)
	}
	// Until the bucket has been read once, try again every second, then every Config.Resync.
	resync := time.NewTimer(0)
	defer resync.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			switch k := kinds[m.Sub]; {
			case k.group:
				s.applyGroupRanking(s.groupName(m.Subject), m.Data)
			case k.method != "" && k.ranking:
				s.applyMethodRanking(k.method, m.Data)
			case k.method != "":
				s.applyMethodScore(k.method, m.Data)
			case k.ranking:
				s.applyRanking(m.Data)
			default:
				s.applyScore(m.Data)
			}
		case <-resync.C:
			if s.resync(ctx) {
				s.ready.Store(true)
				resync.Reset(s.cfg.Resync)
			} else {
				resync.Reset(min(time.Second, s.cfg.Resync))
			}
		case <-beat.C:
			s.mu.Lock()
			s.broadcast(s.beat)
			s.mu.Unlock()
		}
	}
}

// resync reads the ranking and every score from the latest-value bucket; a missing bucket or key
// is not an error (the aggregator has not published yet). Failures are logged and reported as
// false; the next resync tries again.
func (s *Server) resync(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	js, err := jetstream.New(s.nc)
	if err != nil {
		s.log.Warn("latest values not read", "error", err)
		return false
	}
	kv, err := js.KeyValue(ctx, s.cfg.Names.LatestBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return true
	}
	if err != nil {
		s.log.Warn("latest values not read", "bucket", s.cfg.Names.LatestBucket, "error", err)
		return false
	}
	ok := true
	for _, r := range events.Regions() {
		data, found, err := s.get(ctx, kv, "scores."+r.Code)
		ok = ok && err == nil
		if found {
			s.applyScore(data)
		}
	}
	data, found, err := s.get(ctx, kv, natsjs.RankingKey)
	if found {
		s.applyRanking(data)
	}
	ok = ok && err == nil
	for m := range s.others {
		for _, r := range events.Regions() {
			data, found, err := s.get(ctx, kv, natsjs.MethodScoreKey(m, r.Code))
			ok = ok && err == nil
			if found {
				s.applyMethodScore(m, data)
			}
		}
		data, found, err := s.get(ctx, kv, natsjs.MethodRankingKey(m))
		ok = ok && err == nil
		if found {
			s.applyMethodRanking(m, data)
		}
	}
	return s.resyncGroups(ctx, kv) && ok
}

// applyMethodRanking keeps a ranking of a method other than the default, newer than the one held.
func (s *Server) applyMethodRanking(method string, data []byte) {
	r, err := decodeRanking(data)
	if err == nil && r.Method != method {
		err = fmt.Errorf("site: ranking of method %q on the subject of %q", r.Method, method)
	}
	if err != nil {
		s.invalid("ranking", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.others[method]
	if st.ranking == nil || r.Version > st.ranking.Version {
		st.ranking = r
		s.metrics.messages.WithLabelValues("ranking").Inc()
	}
}

// applyMethodScore keeps a score of a method other than the default, newer than the one held for
// its region.
func (s *Server) applyMethodScore(method string, data []byte) {
	sc, err := decodeScore(data)
	if err == nil && sc.Method != method {
		err = fmt.Errorf("site: score of method %q on the subject of %q", sc.Method, method)
	}
	if err != nil {
		s.invalid("score", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.others[method]
	if old := st.scores[sc.Region]; old == nil || sc.Version > old.Version {
		st.scores[sc.Region] = sc
		s.metrics.messages.WithLabelValues("score").Inc()
	}
}

// get reads one key of the bucket; a missing key is not an error.
func (s *Server) get(ctx context.Context, kv jetstream.KeyValue, key string) ([]byte, bool, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		s.log.Warn("latest value not read", "key", key, "error", err)
		return nil, false, err
	}
	return e.Value(), true, nil
}

// applyRanking keeps a ranking newer than the one held and sends it to every stream.
func (s *Server) applyRanking(data []byte) {
	r, err := decodeRanking(data)
	if err != nil {
		s.invalid("ranking", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ranking != nil && r.Version <= s.ranking.Version {
		return
	}
	f, err := eventFrame("ranking", r.Version, extend(r, s.scores))
	if err != nil {
		s.invalid("ranking", err)
		return
	}
	s.ranking, s.rankingF = r, f
	s.metrics.messages.WithLabelValues("ranking").Inc()
	s.broadcast(f)
}

// applyScore keeps a score newer than the one held for its region and sends it to the streams.
func (s *Server) applyScore(data []byte) {
	sc, err := decodeScore(data)
	if err != nil {
		s.invalid("score", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.scores[sc.Region]; old != nil && sc.Version <= old.Version {
		return
	}
	f, err := eventFrame("score", sc.Version, sc)
	if err != nil {
		s.invalid("score", err)
		return
	}
	f.region = sc.Region
	_, f.provincial = events.LookupRegion(sc.Region)
	s.scores[sc.Region], s.scoresF[sc.Region] = sc, f
	s.metrics.messages.WithLabelValues("score").Inc()
	s.broadcast(f)
}

func (s *Server) invalid(kind string, err error) {
	s.metrics.messages.WithLabelValues("invalid").Inc()
	s.log.Warn("message skipped", "kind", kind, "error", err)
}

// broadcast hands f to every stream client that wants it, without ever waiting: a client whose
// buffer is full is dropped. s.mu is held.
func (s *Server) broadcast(f *frame) {
	for c := range s.clients {
		if !c.wants(f) {
			continue
		}
		select {
		case c.ch <- f:
		default:
			s.drop(c)
			s.metrics.dropped.Inc()
		}
	}
}

// drop removes c and closes its channel. s.mu is held.
func (s *Server) drop(c *client) {
	if _, ok := s.clients[c]; ok {
		delete(s.clients, c)
		close(c.ch)
		s.metrics.streams.Dec()
	}
}

// wants reports whether the client is sent f: a ranking or a comment always, a score of a
// provincial unit unless the client follows another unit, a score of a unit below the provincial
// level when the client follows that unit, a group's ranking when the client follows the group.
func (c *client) wants(f *frame) bool {
	switch {
	case f.group != "":
		return slices.Contains(c.groups, f.group)
	case f.region == "":
		return true
	case c.region == "":
		return f.provincial
	}
	return c.region == f.region
}

// subscribe registers a stream client and returns it with the events that bring it up to date:
// the scores (of its region, or of every provincial unit) and the ranking whose versions are at
// least from, and the latest ranking of each of its groups. The scores and the rankings of one flush share a
// version, so a client that last saw version N may have seen only some of them: those at N are
// sent again (a client ignores what it has by version). It returns nil when the server is closed
// or full.
func (s *Server) subscribe(region string, groups []string, from uint64) (*client, []*frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.clients) >= s.cfg.MaxStreams {
		return nil, nil
	}
	c := &client{ch: make(chan *frame, s.cfg.StreamBuffer), region: region, groups: groups}
	var first []*frame
	if region != "" {
		if f := s.scoresF[region]; f != nil && f.version >= from {
			first = append(first, f)
		}
	} else {
		for _, r := range events.Regions() {
			if f := s.scoresF[r.Code]; f != nil && f.version >= from {
				first = append(first, f)
			}
		}
	}
	if s.rankingF != nil && s.rankingF.version >= from {
		first = append(first, s.rankingF)
	}
	// The latest ranking of each of its groups, whatever from: a group's version is the event of
	// its last change, which may be older than the versions of the events sent before it.
	for _, g := range groups {
		if f := s.groupsF[g]; f != nil {
			first = append(first, f)
		}
	}
	s.clients[c] = struct{}{}
	s.metrics.streams.Inc()
	return c, first
}

// unsubscribe removes c if it is still registered.
func (s *Server) unsubscribe(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(c)
}

// closeAll ends every stream and refuses new ones.
func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.clients {
		s.drop(c)
	}
}

// latest returns the extended ranking and a copy of the score of region ("" for none) under the
// default method.
func (s *Server) latest(region string) (*Ranking, *scoring.Score) {
	r, sc, _ := s.latestOf(scoring.DefaultMethod, region)
	return r, sc
}

// latestOf returns the extended ranking and a copy of the score of region ("" for none) under
// method, and false when the site does not show the method.
func (s *Server) latestOf(method, region string) (*Ranking, *scoring.Score, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ranking, scores := s.ranking, s.scores
	if method != scoring.DefaultMethod {
		st, ok := s.others[method]
		if !ok {
			return nil, nil, false
		}
		ranking, scores = st.ranking, st.scores
	}
	var r *Ranking
	if ranking != nil {
		r = extend(ranking, scores)
	}
	var sc *scoring.Score
	if v := scores[region]; v != nil {
		cp := v.Clone()
		sc = &cp
	}
	return r, sc, true
}

// Clients returns the number of connected stream clients.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}
