package dlqarchive

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govpulse/govpulse/internal/promreg"
)

// metrics are the Prometheus metrics of an Archiver.
type metrics struct {
	archived     prometheus.Counter
	writeErrors  prometheus.Counter
	fetchErrors  prometheus.Counter
	writeSeconds prometheus.Histogram

	refused           prometheus.Counter
	partitionsDropped prometheus.Counter
	retentionErrors   prometheus.Counter
}

// newMetrics makes the series and registers them on reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		archived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_archived_total",
			Help: "Dead letters written to the ClickHouse dlq table and acknowledged.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_archive_write_errors_total",
			Help: "Failed writes of dead letters to ClickHouse (each is retried).",
		}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_archive_fetch_errors_total",
			Help: "Failed fetches from the DLQ stream.",
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "govpulse_dlq_archive_write_duration_seconds",
			Help:    "Time of one successful write of dead letters to ClickHouse.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_archive_refused_total",
			Help: "Dead letters ClickHouse refused for good; they are logged, acknowledged and kept only in the DLQ stream.",
		}),
		partitionsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_partitions_dropped_total",
			Help: "Monthly partitions of the dlq table dropped because they were older than the retention.",
		}),
		retentionErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_dlq_retention_errors_total",
			Help: "Failed attempts to drop the months of the dlq table older than the retention (each is retried).",
		}),
	}
	if err := promreg.Register(reg, m.archived, m.writeErrors, m.fetchErrors, m.writeSeconds, m.refused, m.partitionsDropped, m.retentionErrors); err != nil {
		return nil, fmt.Errorf("dlqarchive: metrics: %w", err)
	}
	return m, nil
}
