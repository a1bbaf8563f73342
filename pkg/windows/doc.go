// Package windows computes aggregates over event-time windows that stay correct when events arrive
// late, out of order, twice, or after a restart. It is a pure library: no goroutines, locks, I/O or
// clock; the caller passes event times and the watermark.
//
// # Event time and windows
//
// Every event carries the time it happened. A Config describes windows of Size, starting every Hop
// (tumbling when Hop is 0 or Size, hopping or sliding when smaller), aligned so that
// (start + Offset) mod Hop == 0: Config{Size: 30 * 24 * time.Hour, Hop: 24 * time.Hour, Offset: 8 *
// time.Hour} is a rolling 30-day window of calendar days in UTC+8. Config.WindowsOf and
// Config.PaneOf assign times to windows; they are pure functions.
//
// # Panes
//
// An Operator keeps, per key, one accumulator per pane, the Hop-long slice of time between two
// window starts, and answers a window by merging its Size/Hop panes. An event therefore updates one
// accumulator however many windows contain it, and the state per key is bounded by about
// (Size + AllowedLateness) / Hop panes (plus panes ahead of the watermark). Aggregates are
// incremental behind the Aggregator interface (Add, Merge, Result); Count, Sum, Mean, Min, Max,
// Histogram and Ratio are built in, and user-defined ones plug in the same way.
//
// # Watermark and lateness
//
// A Watermark trails the largest event time seen by a bounded out-of-orderness, never goes
// backwards, and can be advanced explicitly when a source is idle. An event with time t is
// accepted while t >= watermark - AllowedLateness (the horizon): if it is behind the watermark it
// corrects the windows that contain it, which are then reported as changed again. An event before
// the horizon is refused with a *LateError (matching ErrTooLate) that carries the time, the
// watermark and the horizon, and changes nothing.
//
// # Changed and final windows
//
// Nothing fires on a clock. Operator.TakeChanged returns the windows whose result changed since
// the last call; a caller storing them with an increasing version keeps the latest correction.
// Operator.Advance moves the operator to a watermark: a window is final once End +
// AllowedLateness <= watermark, Operator.TakeFinal returns each final window once, and panes that
// only final windows contain are purged. Operator.Query answers any range of panes that can still
// change, such as the rolling window ending at the end of the watermark's day.
//
// # Retraction
//
// An input that is voided afterwards (a review removed on appeal) leaves every window it was
// counted in: Operator.Remove takes it back out of its pane, subtracting when the aggregator is a
// Subtractor (Count, Sum, Mean, Histogram and Ratio are) and otherwise rebuilding the pane from the
// inputs that remain, and the windows that contain the pane are reported again by TakeChanged. A
// Ledger remembers the inputs counted under each id and the ids voided before their input arrived,
// so that the result equals that of a stream in which the voided input never came, whatever the
// order of the input, its duplicates and its void. Remove is bound by window finality, not by the
// lateness horizon: it corrects every window that is not final; final windows never change.
// Ledger.AppendSnapshot and ReadLedger keep a Ledger across restarts like the other snapshots.
// Where the inputs are many and every aggregator subtracts, a Dedup holds the same ledger in far
// less memory: Dedup.Count records an input's time and a small value (a rating) in the slot of
// its id, Dedup.Void voids it (or holds the void until the input comes) and returns what to
// Remove, and Dedup.PurgeRecords forgets what no window can take back.
//
// # Exactly once
//
// Operator.AppendSnapshot, Watermark.AppendSnapshot and Dedup.AppendSnapshot encode the whole state
// in a versioned, deterministic format (the same state always gives the same bytes), and Restore,
// ReadWatermark and ReadDedup read it back; corrupt input is an error matching ErrCorrupt. A Dedup
// remembers the ids of applied events within the lateness horizon so that events replayed after a
// restore from a checkpoint are not counted twice; it keeps a keyed 96-bit fingerprint of each id
// (see Dedup for the key, its place in the snapshot and the probability of a collision), with the
// record of a voidable input beside it where one was counted. The order that makes replays safe is: observe
// the time in the Watermark, check lateness (Operator.Check), check the id (Dedup.Contains with
// Operator.Horizon), then Operator.Add and Dedup.Add.
//
// Times are handled as int64 nanoseconds since the Unix epoch (the years 1678 to 2262); results
// carry times in UTC. No type of this package is safe for concurrent use.
package windows
