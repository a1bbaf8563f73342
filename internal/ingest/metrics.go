package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/promreg"
)

// metrics are the Prometheus metrics of a Server.
type metrics struct {
	events       *prometheus.CounterVec // by status, reason and source
	requests     *prometheus.CounterVec // by status code
	refused      *prometheus.CounterVec // whole requests refused, by reason and source
	authFailures *prometheus.CounterVec // 401s by reason
	rateLimited  *prometheus.CounterVec // 429s by source
	reloads      *prometheus.CounterVec // Reload calls by result
	publish      prometheus.Histogram   // from the first publish of a request to its last ack
	inFlight     prometheus.Gauge       // requests being handled
	pending      prometheus.Gauge       // events published and not yet acknowledged
	dlqFailures  prometheus.Counter

	lettersDropped *prometheus.CounterVec // dead letters over the bounds, by cause and source
	connsOpen      prometheus.Gauge       // connections of the main listener
	connsRefused   *prometheus.CounterVec // connections closed over a cap, by cause
	ready          prometheus.Gauge       // 1 when the last readiness check passed
	watermarks     prometheus.Gauge       // partitions whose watermark is known
	bodyBytes      prometheus.Gauge       // bytes of request body buffers held
}

// newMetrics makes the series and registers them on reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_events_total",
			Help: "Events received, by status (accepted, duplicate, rejected, unavailable), rejection reason and source (the token's source, or anonymous).",
		}, []string{"status", "reason", "source"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_refused_requests_total",
			Help: "Authenticated requests refused as a whole (content type, body too large, too many events, empty), by reason and source.",
		}, []string{"reason", "source"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_auth_failures_total",
			Help: "Requests answered 401, by reason (missing, malformed, invalid).",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_rate_limited_total",
			Help: "Requests answered 429, by source.",
		}, []string{"source"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_reloads_total",
			Help: "Reloads of the tokens file and TLS certificate, by result (ok, error).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_requests_total",
			Help: "Requests to POST /v1/events, by HTTP status code.",
		}, []string{"code"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "govpulse_ingest_publish_duration_seconds",
			Help:    "Time from the first publish of a request until all its events were acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_ingest_requests_in_flight",
			Help: "Requests to POST /v1/events being handled.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_ingest_publishes_in_flight",
			Help: "Events published to JetStream and not yet acknowledged.",
		}),
		dlqFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_ingest_dlq_failures_total",
			Help: "Rejected events that could not be written to the DLQ stream.",
		}),
		lettersDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_dead_letters_dropped_total",
			Help: "Dead letters not written because their request or source was over its bounds (each request says how many in one summary letter), by cause (per_request, rate) and source.",
		}, []string{"cause", "source"}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_ingest_connections_open",
			Help: "Open connections of the main listener.",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_ingest_connections_refused_total",
			Help: "Connections closed at once for being over a cap, by cause (max_conns, max_conns_per_addr).",
		}, []string{"cause"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_ingest_ready",
			Help: "1 when the last readiness check passed (NATS connected, the EVENTS stream there), else 0.",
		}),
		watermarks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_ingest_watermark_partitions",
			Help: "Aggregator partitions whose watermark ingest knows (user-experience events older than their horizon are rejected as too_late).",
		}),
	}
	m.bodyBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "govpulse_ingest_body_bytes",
		Help: "Bytes of the request body buffers held now (at most the max body memory).",
	})
	if err := promreg.Register(reg, m.bodyBytes, m.watermarks, m.events, m.requests, m.refused, m.authFailures, m.rateLimited, m.reloads,
		m.publish, m.inFlight, m.pending, m.dlqFailures, m.lettersDropped, m.connsOpen, m.connsRefused, m.ready); err != nil {
		return nil, fmt.Errorf("ingest: metrics: %w", err)
	}
	return m, nil
}
