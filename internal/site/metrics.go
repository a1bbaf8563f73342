package site

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the site's Prometheus series, registered on the injected registry.
type metrics struct {
	messages    *prometheus.CounterVec
	streams     prometheus.Gauge
	dropped     prometheus.Counter
	rateLimited prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_site_messages_total",
			Help: "New rankings, scores and group rankings taken from NATS (ranking, score, group), and messages skipped (invalid).",
		}, []string{"kind"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_site_stream_clients",
			Help: "Connected /api/v1/stream clients.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_site_stream_dropped_total",
			Help: "Stream clients dropped because they did not keep up.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_site_rate_limited_total",
			Help: "API requests refused with 429 by the per-address rate limit.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.messages, m.streams, m.dropped, m.rateLimited} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("site: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
