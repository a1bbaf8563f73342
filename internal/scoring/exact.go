package scoring

import (
	"math/big"
	"math/bits"
)

// Micro is the number of micro-units (1e-6) in a rounded value: a
// sub-index of 87.654321 is Micro(87654321). Every index of the method is
// rounded to a whole number of micro-units (rule 9) and stored as the
// float64 nearest to Micro/1e6.
type Micro int64

// microScale is the number of micro-units in one unit.
const microScale = 1_000_000

// Float returns m as the float64 nearest to m/1e6, which is how every
// rounded index is stored.
func (m Micro) Float() float64 { return float64(m) / microScale }

// maxFractions is the most fractions a weighted sum holds (在线服务成效度 of method 2022 has five).
const maxFractions = 5

// term is one fraction num/(den1*den2) of a weighted sum; den1, den2 > 0.
type term struct {
	num, den1, den2, weight uint64
}

// terms is a fixed-capacity weighted sum of fractions divided by div (the
// sum of the weights when div is 0), so that evaluating a score allocates
// nothing on the fast path.
type terms struct {
	t   [maxFractions]term
	n   int
	div uint64
}

// add appends weight * num / (den1*den2). Every argument is non-negative and
// den1, den2 and weight are positive.
func (ts *terms) add(num, den1, den2, weight int64) {
	ts.t[ts.n] = term{num: uint64(num), den1: uint64(den1), den2: uint64(den2), weight: uint64(weight)}
	ts.n++
}

// divisor returns what the weighted sum is divided by, and false when it
// overflows 64 bits.
func (ts *terms) divisor() (uint64, bool) {
	if ts.div != 0 {
		return ts.div, true
	}
	var w uint64
	for i := 0; i < ts.n; i++ {
		var c uint64
		w, c = bits.Add64(w, ts.t[i].weight, 0)
		if c != 0 {
			return 0, false
		}
	}
	return w, true
}

// percentMicro returns 100 * (sum_i w_i*num_i/den_i) / div, in micro-units
// rounded half away from zero, computed exactly; 0 when there are no terms.
//
// The fast path keeps the common denominator in 64 bits and the numerator
// in 128 bits; when either would overflow (the product of four coverage
// denominators can exceed int64) it falls back to math/big, so the result
// is exact for every input.
func percentMicro(ts *terms) Micro {
	if ts.n == 0 {
		return 0
	}
	if m, ok := percentMicroFast(ts); ok {
		return m
	}
	return percentMicroBig(ts)
}

// hundredMicro is 100 (percent) times 1e6 (micro-units).
const hundredMicro = 100 * microScale

// den returns den1*den2 of term i, and false on overflow.
func (ts *terms) den(i int) (uint64, bool) {
	hi, lo := bits.Mul64(ts.t[i].den1, ts.t[i].den2)
	return lo, hi == 0
}

func percentMicroFast(ts *terms) (Micro, bool) {
	var dens [maxFractions]uint64
	den, ok := ts.divisor()
	if !ok {
		return 0, false
	}
	// den = div * prod_i den_i
	for i := 0; i < ts.n; i++ {
		if dens[i], ok = ts.den(i); !ok {
			return 0, false
		}
		hi, lo := bits.Mul64(den, dens[i])
		if hi != 0 {
			return 0, false
		}
		den = lo
	}
	// num = 1e8 * sum_i w_i * num_i * prod_{j != i} den_j
	var num u128
	for i := 0; i < ts.n; i++ {
		hi, lo := bits.Mul64(ts.t[i].weight, ts.t[i].num)
		x := u128{hi, lo}
		if x, ok = x.mul(hundredMicro); !ok {
			return 0, false
		}
		for j := 0; j < ts.n; j++ {
			if j == i {
				continue
			}
			if x, ok = x.mul(dens[j]); !ok {
				return 0, false
			}
		}
		if num, ok = num.add(x); !ok {
			return 0, false
		}
	}
	q, ok := roundDiv128(num, den)
	if !ok || q > 1<<62 {
		return 0, false
	}
	return Micro(q), true
}

func percentMicroBig(ts *terms) Micro {
	var div, den, num, x, y big.Int
	den.SetUint64(1)
	for i := 0; i < ts.n; i++ {
		y.SetUint64(ts.t[i].weight)
		div.Add(&div, &y)
		y.SetUint64(ts.t[i].den1)
		den.Mul(&den, &y)
		y.SetUint64(ts.t[i].den2)
		den.Mul(&den, &y)
	}
	if ts.div != 0 {
		div.SetUint64(ts.div)
	}
	for i := 0; i < ts.n; i++ {
		x.SetUint64(ts.t[i].weight)
		y.SetUint64(ts.t[i].num)
		x.Mul(&x, &y)
		y.SetUint64(hundredMicro)
		x.Mul(&x, &y)
		for j := 0; j < ts.n; j++ {
			if j != i {
				y.SetUint64(ts.t[j].den1)
				x.Mul(&x, &y)
				y.SetUint64(ts.t[j].den2)
				x.Mul(&x, &y)
			}
		}
		num.Add(&num, &x)
	}
	den.Mul(&den, &div)
	return Micro(roundDivBig(&num, &den).Int64())
}

// roundDivBig returns num/den rounded half away from zero for num >= 0 and
// den > 0.
func roundDivBig(num, den *big.Int) *big.Int {
	var q, r, twice big.Int
	q.QuoRem(num, den, &r)
	twice.Lsh(&r, 1)
	if twice.Cmp(den) >= 0 {
		q.Add(&q, big.NewInt(1))
	}
	return &q
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

// mul returns x*m and false when the product overflows 128 bits.
func (x u128) mul(m uint64) (u128, bool) {
	h1, lo := bits.Mul64(x.lo, m)
	h2, l2 := bits.Mul64(x.hi, m)
	if h2 != 0 {
		return u128{}, false
	}
	hi, c := bits.Add64(h1, l2, 0)
	if c != 0 {
		return u128{}, false
	}
	return u128{hi, lo}, true
}

// add returns x+y and false when the sum overflows 128 bits.
func (x u128) add(y u128) (u128, bool) {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, c := bits.Add64(x.hi, y.hi, c)
	return u128{hi, lo}, c == 0
}

// roundDiv128 returns num/den rounded half away from zero, and false when
// den is 0 or the quotient does not fit in 64 bits.
func roundDiv128(num u128, den uint64) (uint64, bool) {
	if den == 0 || num.hi >= den {
		return 0, false
	}
	q, r := bits.Div64(num.hi, num.lo, den)
	if r >= den-r { // 2r >= den without overflow
		if q == ^uint64(0) {
			return 0, false
		}
		q++
	}
	return q, true
}

// mean4Micro returns (a+b+c+d)/4 in micro-units, rounded half away from
// zero; every value is non-negative.
func mean4Micro(a, b, c, d Micro) Micro {
	s := int64(a) + int64(b) + int64(c) + int64(d)
	q, r := s/4, s%4
	if 2*r >= 4 {
		q++
	}
	return Micro(q)
}
