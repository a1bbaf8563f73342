package aggregate

import (
	"fmt"

	"github.com/govpulse/govpulse/internal/promreg"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the aggregator's Prometheus series, registered on the injected registry.
type metrics struct {
	messages       *prometheus.CounterVec
	cuts           *prometheus.CounterVec
	flushes        prometheus.Counter
	flushSeconds   prometheus.Histogram
	scoreSeconds   prometheus.Histogram
	flushRows      *prometheus.CounterVec
	storeErrors    prometheus.Counter
	rowsRefused    *prometheus.CounterVec
	schemaFault    prometheus.Gauge
	publishErrors  prometheus.Counter
	lag            prometheus.Gauge
	lastSeq        prometheus.Gauge
	watermark      prometheus.Gauge
	checkpoints    prometheus.Counter
	checkpointSize prometheus.Gauge
	checkpointAge  prometheus.Gauge
	checkpointTime prometheus.Gauge

	deadLettersPending prometheus.Gauge
	dlqRecreated       prometheus.Counter

	explainHeld     prometheus.Gauge
	explainDeferred prometheus.Counter
	explainWrites   *prometheus.CounterVec
}

// newMetrics makes the aggregator's series and registers them on reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_aggregate_messages_total",
			Help: "Stream messages read, by outcome (applied, duplicate, too_late, past_appeal_horizon, limit, bad_time, subject, invalid, not_in_partition: another partition's unit, its time only).",
		}, []string{"outcome"}),
		cuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_aggregate_batches_total",
			Help: "Batches cut by the reader, by reason (full: MaxBatch; interval: the oldest message waited FlushInterval; idle: the end of the stream while the flusher waited).",
		}, []string{"reason"}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_flushes_total",
			Help: "Flushes that stored their batch.",
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "govpulse_aggregate_flush_seconds",
			Help:    "Time to store and publish one write of the rest stage (the rows of one batch or more other than their scores), from when its first batch's scores began to be stored, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}),
		scoreSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "govpulse_aggregate_score_publish_seconds",
			Help:    "Time from reading a batch's first stream message to its scores published, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}),
		flushRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_aggregate_rows_total",
			Help: "Rows written to ClickHouse, by table.",
		}, []string{"table"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_clickhouse_errors_total",
			Help: "Failed attempts to write a batch to ClickHouse.",
		}),
		rowsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_aggregate_rows_refused_total",
			Help: "Rows ClickHouse refused for good (isolated from their batch; the events behind them dead-lettered), by table.",
		}, []string{"table"}),
		schemaFault: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_clickhouse_schema_fault",
			Help: "1 while ClickHouse answers writes with a schema fault (a missing table or column), else 0.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_publish_errors_total",
			Help: "Failed publications of scores, rankings, latest values or dead letters to NATS.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_lag_messages",
			Help: "Stream messages of the partition not yet read (as reported by the consumer).",
		}),
		lastSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_last_sequence",
			Help: "Stream sequence of the last message read.",
		}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_watermark_seconds",
			Help: "The partition's event-time watermark, as Unix seconds.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_checkpoints_total",
			Help: "Checkpoints written.",
		}),
		checkpointSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_checkpoint_bytes",
			Help: "Size of the last checkpoint written.",
		}),
		checkpointAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_checkpoint_sequence",
			Help: "Stream sequence covered by the last checkpoint.",
		}),
		checkpointTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_checkpoint_timestamp_seconds",
			Help: "Wall-clock time of the last checkpoint, as Unix seconds (checkpoint age = now - this).",
		}),
		deadLettersPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_dead_letters_pending",
			Help: "Dead letters of stored batches not yet written to the DLQ stream (checkpoints wait for them).",
		}),
		dlqRecreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_dlq_stream_created_total",
			Help: "Times the aggregator found the DLQ stream missing and created it.",
		}),
		explainHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "govpulse_aggregate_explain_rows_held",
			Help: "Explanation rows (score_changes, score_causes, rank_changes) of stored batches held to be written with a later one.",
		}),
		explainDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "govpulse_aggregate_explain_deferred_total",
			Help: "Batches whose explanation rows were held, under load, to be written with those of later batches.",
		}),
		explainWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "govpulse_aggregate_explain_writes_total",
			Help: "Writes of explanation rows, by why they were written then (now: no delay; idle: the batch was cut because the input went idle; checkpoint: a checkpoint covers them; final: shutdown; rows: the bound of rows held; delay: the oldest waited the delay).",
		}, []string{"reason"}),
	}
	if err := promreg.Register(reg, m.rowsRefused, m.schemaFault, m.messages, m.cuts, m.flushes, m.flushSeconds, m.scoreSeconds, m.flushRows,
		m.storeErrors, m.publishErrors, m.lag, m.lastSeq, m.watermark, m.checkpoints, m.checkpointSize,
		m.checkpointAge, m.checkpointTime, m.deadLettersPending, m.dlqRecreated,
		m.explainHeld, m.explainDeferred, m.explainWrites); err != nil {
		return nil, fmt.Errorf("aggregate: metrics: %w", err)
	}
	return m, nil
}
