package windows

import (
	"cmp"
	"math"
)

// Aggregator is an incremental aggregate: Add folds one input into an accumulator, Merge combines
// the accumulators of two disjoint sets of inputs, and Result turns an accumulator into the output.
// The zero Acc is the empty aggregate. Merge must be associative and commutative with the zero Acc
// as identity, and Add(a, x) must equal Merge(a, Add(zero, x)), so that results do not depend on
// the order events arrive in or on how they are split into panes.
//
// Acc should be a value type (numbers, arrays, structs of them): accumulators are copied, never
// shared, so an Acc holding a slice or map must not be mutated in place. An Aggregator is used from
// one goroutine at a time by its Operator and should be stateless.
type Aggregator[In, Acc, Out any] interface {
	Add(acc Acc, in In) Acc
	Merge(a, b Acc) Acc
	Result(acc Acc) Out
}

// Number is the constraint of the numeric aggregates.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr |
		~float32 | ~float64
}

// Count counts inputs of any type.
type Count[In any] struct{}

// Add returns acc + 1.
func (Count[In]) Add(acc int64, _ In) int64 { return acc + 1 }

// Merge returns a + b.
func (Count[In]) Merge(a, b int64) int64 { return a + b }

// Result returns the count.
func (Count[In]) Result(acc int64) int64 { return acc }

// Sum adds numbers up. Float sums are combined in a deterministic order (by pane, then arrival),
// but rounding can make them differ in the last bits from a sum taken in another order.
type Sum[N Number] struct{}

// Add returns acc + in.
func (Sum[N]) Add(acc, in N) N { return acc + in }

// Merge returns a + b.
func (Sum[N]) Merge(a, b N) N { return a + b }

// Result returns the sum.
func (Sum[N]) Result(acc N) N { return acc }

// MeanAcc is the accumulator of Mean.
type MeanAcc[N Number] struct {
	Sum   N
	Count int64
}

// Mean is the arithmetic mean; its Result is NaN for an empty window.
type Mean[N Number] struct{}

// Add adds in to the sum and counts it.
func (Mean[N]) Add(acc MeanAcc[N], in N) MeanAcc[N] {
	return MeanAcc[N]{Sum: acc.Sum + in, Count: acc.Count + 1}
}

// Merge adds sums and counts.
func (Mean[N]) Merge(a, b MeanAcc[N]) MeanAcc[N] {
	return MeanAcc[N]{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
}

// Result returns Sum/Count, or NaN when Count is 0.
func (Mean[N]) Result(acc MeanAcc[N]) float64 {
	if acc.Count == 0 {
		return math.NaN()
	}
	return float64(acc.Sum) / float64(acc.Count)
}

// Extremum is the accumulator and the result of Min and Max: Valid is false for an empty window.
type Extremum[T cmp.Ordered] struct {
	Value T
	Valid bool
}

// Min is the smallest input.
type Min[T cmp.Ordered] struct{}

// Add keeps the smaller of acc and in.
func (Min[T]) Add(acc Extremum[T], in T) Extremum[T] {
	if !acc.Valid || in < acc.Value {
		return Extremum[T]{Value: in, Valid: true}
	}
	return acc
}

// Merge keeps the smaller of a and b.
func (m Min[T]) Merge(a, b Extremum[T]) Extremum[T] {
	if !b.Valid {
		return a
	}
	return m.Add(a, b.Value)
}

// Result returns the minimum.
func (Min[T]) Result(acc Extremum[T]) Extremum[T] { return acc }

// Max is the largest input.
type Max[T cmp.Ordered] struct{}

// Add keeps the larger of acc and in.
func (Max[T]) Add(acc Extremum[T], in T) Extremum[T] {
	if !acc.Valid || in > acc.Value {
		return Extremum[T]{Value: in, Valid: true}
	}
	return acc
}

// Merge keeps the larger of a and b.
func (m Max[T]) Merge(a, b Extremum[T]) Extremum[T] {
	if !b.Valid {
		return a
	}
	return m.Add(a, b.Value)
}

// Result returns the maximum.
func (Max[T]) Result(acc Extremum[T]) Extremum[T] { return acc }

// MaxBuckets is the number of buckets a Histogram can have.
const MaxBuckets = 16

// Counts is the accumulator and result of Histogram: Counts[i] is the number of inputs in bucket i.
type Counts [MaxBuckets]int64

// Total returns the number of inputs counted.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Histogram counts integers in fixed buckets: bucket i holds [Lo + i*Width, Lo + (i+1)*Width) for
// i in 0..Buckets-1. Inputs below Lo are counted in bucket 0 and inputs at or above the end of the
// last bucket in bucket Buckets-1. Width <= 0 means 1; Buckets outside 1..MaxBuckets means
// MaxBuckets. Ratings 1..5: Histogram{Lo: 1, Width: 1, Buckets: 5}.
type Histogram struct {
	Lo      int64
	Width   int64
	Buckets int
}

// Bucket returns the bucket of v.
func (h Histogram) Bucket(v int64) int {
	w, n := h.Width, h.Buckets
	if w <= 0 {
		w = 1
	}
	if n <= 0 || n > MaxBuckets {
		n = MaxBuckets
	}
	if v < h.Lo {
		return 0
	}
	d := uint64(v-h.Lo) / uint64(w)
	if d >= uint64(n) {
		return n - 1
	}
	return int(d)
}

// Add counts in in its bucket.
func (h Histogram) Add(acc Counts, in int64) Counts {
	acc[h.Bucket(in)]++
	return acc
}

// Merge adds the counts bucket by bucket.
func (Histogram) Merge(a, b Counts) Counts {
	for i := range a {
		a[i] += b[i]
	}
	return a
}

// Result returns the counts.
func (Histogram) Result(acc Counts) Counts { return acc }

// Fraction is the accumulator and result of Ratio: Num of Den inputs were true.
type Fraction struct{ Num, Den int64 }

// Value returns Num/Den, and false when Den is 0.
func (f Fraction) Value() (float64, bool) {
	if f.Den == 0 {
		return 0, false
	}
	return float64(f.Num) / float64(f.Den), true
}

// Ratio is the share of true inputs.
type Ratio struct{}

// Add counts in, and counts it in Num when it is true.
func (Ratio) Add(acc Fraction, in bool) Fraction {
	acc.Den++
	if in {
		acc.Num++
	}
	return acc
}

// Merge adds numerators and denominators.
func (Ratio) Merge(a, b Fraction) Fraction { return Fraction{Num: a.Num + b.Num, Den: a.Den + b.Den} }

// Result returns the fraction.
func (Ratio) Result(acc Fraction) Fraction { return acc }
