package scoring

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// roundRatMicro rounds x*1e6 half away from zero, for x >= 0.
func roundRatMicro(x *big.Rat) Micro {
	y := new(big.Rat).Mul(x, big.NewRat(microScale, 1))
	return Micro(roundDivBig(new(big.Int).Set(y.Num()), new(big.Int).Set(y.Denom())).Int64())
}

func TestRoundDiv128(t *testing.T) {
	tests := []struct {
		name     string
		num, den uint64
		want     uint64
	}{
		{"exact", 10, 5, 2},
		{"below half", 24, 10, 2},
		{"exactly half rounds up", 25, 10, 3},
		{"above half", 26, 10, 3},
		{"half of one", 1, 2, 1},
		{"zero", 0, 7, 0},
		{"large odd den half", 1<<63 - 1, 1<<64 - 2, 1},
		{"max den", 1<<64 - 1, 1<<64 - 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := roundDiv128(u128{lo: tt.num}, tt.den)
			if !ok || got != tt.want {
				t.Fatalf("roundDiv128(%d, %d) = %d, %v; want %d", tt.num, tt.den, got, ok, tt.want)
			}
		})
	}
	if _, ok := roundDiv128(u128{hi: 5}, 5); ok {
		t.Fatal("roundDiv128 accepted a quotient over 64 bits")
	}
	if _, ok := roundDiv128(u128{lo: 5}, 0); ok {
		t.Fatal("roundDiv128 accepted a zero divisor")
	}
}

func TestMean4Micro(t *testing.T) {
	tests := []struct {
		a, b, c, d Micro
		want       Micro
	}{
		{0, 0, 0, 0, 0},
		{1, 0, 0, 0, 0}, // 0.25 -> 0
		{1, 1, 0, 0, 1}, // 0.5 -> 1 (half away from zero)
		{1, 1, 1, 0, 1}, // 0.75 -> 1
		{100_000_000, 100_000_000, 100_000_000, 100_000_000, 100_000_000},
		{90_000_001, 90_000_000, 90_000_000, 89_999_999, 90_000_000},
		{90_000_001, 90_000_001, 89_999_999, 89_999_999, 90_000_000},
		{2, 0, 0, 0, 1}, // 0.5 -> 1
		{6, 0, 0, 0, 2}, // 1.5 -> 2
	}
	for _, tt := range tests {
		if got := mean4Micro(tt.a, tt.b, tt.c, tt.d); got != tt.want {
			t.Errorf("mean4Micro(%d, %d, %d, %d) = %d, want %d", tt.a, tt.b, tt.c, tt.d, got, tt.want)
		}
	}
}

// refPercent computes 100 * Σ w n / d / div with big.Rat.
func refPercent(ts *terms) Micro {
	sum := new(big.Rat)
	var wsum uint64
	for i := 0; i < ts.n; i++ {
		tm := ts.t[i]
		d := new(big.Int).Mul(new(big.Int).SetUint64(tm.den1), new(big.Int).SetUint64(tm.den2))
		f := new(big.Rat).SetFrac(new(big.Int).SetUint64(tm.num), d)
		f.Mul(f, new(big.Rat).SetInt(new(big.Int).SetUint64(tm.weight)))
		sum.Add(sum, f)
		wsum += tm.weight
	}
	div := wsum
	if ts.div != 0 {
		div = ts.div
	}
	sum.Mul(sum, big.NewRat(100, 1))
	sum.Quo(sum, new(big.Rat).SetInt(new(big.Int).SetUint64(div)))
	return roundRatMicro(sum)
}

// TestPercentMicroMatchesRational checks the fast path and the math/big
// fallback against big.Rat over random fractions of every size, including
// denominators whose product overflows int64 and 128 bits.
func TestPercentMicroMatchesRational(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fast, slow := 0, 0
	for i := 0; i < 20000; i++ {
		var ts terms
		n := 1 + rng.IntN(4)
		bitsMax := []uint{4, 10, 20, 31, 40, 62}[rng.IntN(6)]
		for j := 0; j < n; j++ {
			den := 1 + rng.Int64N(int64(1)<<bitsMax)
			num := rng.Int64N(den + 1)
			ts.add(num, den, 1+rng.Int64N(4), 1+rng.Int64N(5))
		}
		want := refPercent(&ts)
		got := percentMicro(&ts)
		if got != want {
			t.Fatalf("percentMicro(%+v) = %d, want %d", ts, got, want)
		}
		if got := percentMicroBig(&ts); got != want {
			t.Fatalf("percentMicroBig(%+v) = %d, want %d", ts, got, want)
		}
		if _, ok := percentMicroFast(&ts); ok {
			fast++
		} else {
			slow++
		}
	}
	if fast == 0 || slow == 0 {
		t.Fatalf("both paths must be exercised: fast %d, big %d", fast, slow)
	}
}

func TestPercentMicroAllocatesNothing(t *testing.T) {
	var ts terms
	ts.add(3, 7, 1, 4)
	ts.add(5, 11, 1, 3)
	ts.add(1, 13, 1, 2)
	ts.add(2, 17, 1, 1)
	if n := testing.AllocsPerRun(100, func() { percentMicro(&ts) }); n != 0 {
		t.Fatalf("percentMicro allocates %v times per call", n)
	}
}
