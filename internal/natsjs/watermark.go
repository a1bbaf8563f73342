package natsjs

import "time"

// Watermark is what an aggregator partition publishes under [WatermarkKey]: its watermark, the
// allowed lateness of user-experience events and the regions it holds. Ingest reads it to reject a
// user-experience event older than Watermark - AllowedLateness at once; the aggregator still
// decides.
type Watermark struct {
	// Partition is the partition's name ("all").
	Partition string `json:"partition"`
	// Regions are the region codes of the partition; empty means all regions.
	Regions []string `json:"regions,omitempty"`
	// Watermark is the partition's event-time watermark.
	Watermark time.Time `json:"watermark"`
	// AllowedLatenessSeconds is how far behind the watermark a user-experience event still counts.
	AllowedLatenessSeconds int64 `json:"allowed_lateness_seconds"`
	// Version is the stream sequence of the last event the partition applied.
	Version uint64 `json:"version"`
}

// Horizon returns the oldest event time a user-experience event of the partition may have.
func (w Watermark) Horizon() time.Time {
	return w.Watermark.Add(-time.Duration(w.AllowedLatenessSeconds) * time.Second)
}
