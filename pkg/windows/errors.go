package windows

import (
	"errors"
	"time"
)

// ErrTooLate is matched (errors.Is) by the error of Operator.Add and Operator.Check for an event
// behind the lateness horizon; the error is a *LateError.
var ErrTooLate = errors.New("event too late")

// ErrInvalidConfig is matched by the errors of Config.Validate, New and Restore for a Config that
// does not describe windows.
var ErrInvalidConfig = errors.New("invalid config")

// ErrCorrupt is matched by the errors of every snapshot reader (Restore, ReadWatermark, ReadDedup)
// and of the Codec implementations of this package for input they cannot decode.
var ErrCorrupt = errors.New("corrupt snapshot")

// ErrConfigMismatch is matched by the error of Restore when the snapshot was taken with a different
// Config than the one given.
var ErrConfigMismatch = errors.New("snapshot config differs")

// LateError is the reason an event was refused: its time is before the horizon, which is the
// watermark minus the allowed lateness. It matches ErrTooLate.
type LateError struct {
	Time      time.Time // the event time
	Watermark time.Time // the watermark it was judged against
	Horizon   time.Time // Watermark - AllowedLateness; events before it are too late
}

// Error describes the reason, e.g. "windows: event time 2024-01-01T00:00:00Z is before the lateness
// horizon 2024-01-02T00:00:00Z (watermark 2024-01-09T00:00:00Z)".
func (e *LateError) Error() string {
	return "windows: event time " + e.Time.Format(time.RFC3339Nano) +
		" is before the lateness horizon " + e.Horizon.Format(time.RFC3339Nano) +
		" (watermark " + e.Watermark.Format(time.RFC3339Nano) + ")"
}

// Is reports whether target is ErrTooLate.
func (e *LateError) Is(target error) bool { return target == ErrTooLate }
