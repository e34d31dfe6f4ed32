package sqlite

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// coverage returns how many times the plan counts the instant at.
func coverage(p plan, at int64) int64 {
	var n int64
	for _, t := range p {
		var lo, hi int64
		switch {
		case t.period < 0:
			lo, hi = t.lo, t.hi
		case t.period == periodAll:
			lo, hi = minMS, maxMS
		case t.period < monthBase:
			lo = time.Date(int(t.period), 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			hi = time.Date(int(t.period)+1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		default:
			m := t.period - monthBase
			lo = time.Date(int(m/12), time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			hi = time.Date(int(m/12), time.Month(m%12+2), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		}
		if at >= lo && at < hi {
			n += t.sign
		}
	}
	return n
}

func TestDecomposeIsExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	span := int64(10 * 365 * 24 * time.Hour / time.Millisecond)
	edges := []int64{
		time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
		time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC).UnixMilli(),
	}
	for i := range 400 {
		var lo, hi int64
		switch i % 4 {
		case 0: // anywhere
			lo, hi = base+rng.Int64N(span), base+rng.Int64N(span)
		case 1: // short
			lo = base + rng.Int64N(span)
			hi = lo + rng.Int64N(int64(40*24*time.Hour/time.Millisecond))
		case 2: // on period edges, give or take a millisecond
			lo, hi = edges[rng.IntN(len(edges))]+rng.Int64N(3)-1, edges[rng.IntN(len(edges))]+rng.Int64N(3)-1
		default: // a local year in a far zone
			y := 2016 + rng.IntN(6)
			loc := time.FixedZone("", (rng.IntN(105)-48)*15*60)
			lo = time.Date(y, 1, 1, 0, 0, 0, 0, loc).UnixMilli()
			hi = time.Date(y+1, 1, 1, 0, 0, 0, 0, loc).UnixMilli()
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		p := decompose(lo, hi)
		probes := []int64{lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, (lo + hi) / 2}
		for range 20 {
			probes = append(probes, lo-span/10+rng.Int64N(hi-lo+span/5+1))
		}
		for _, e := range edges {
			probes = append(probes, e-1, e, e+1)
		}
		for _, at := range probes {
			want := int64(0)
			if at >= lo && at < hi {
				want = 1
			}
			require.Equal(t, want, coverage(p, at), "decompose(%d, %d) counts %d %d times; plan %v", lo, hi, at, coverage(p, at), p)
		}
		for _, term := range p {
			if term.period < 0 {
				require.Less(t, term.lo, term.hi, "raw terms are not empty")
				require.LessOrEqual(t, term.hi-term.lo, int64(16*24*time.Hour/time.Millisecond),
					"raw terms are at most half a month: %v", p)
			}
		}
	}
}

func TestQuartersRoundTrip(t *testing.T) {
	t.Parallel()
	var q quarters
	q[0] = quarter{1, 0}
	q[37] = quarter{300, 1 << 40}
	q[95] = quarter{2, 12345}
	got, err := decodeQuarters(q.encode())
	require.NoError(t, err)
	require.Equal(t, q, *got)
	plays, ms := got.total()
	require.Equal(t, int64(303), plays)
	require.Equal(t, int64(1<<40+12345), ms)
	empty, err := decodeQuarters(nil)
	require.NoError(t, err)
	require.Equal(t, quarters{}, *empty)
	_, err = decodeQuarters([]byte{200, 1, 1})
	require.ErrorIs(t, err, errBadQuarters)
	_, err = decodeQuarters([]byte{3, 0x80})
	require.ErrorIs(t, err, errBadQuarters)
}

func TestFloorDiv(t *testing.T) {
	t.Parallel()
	cases := []struct{ a, b, want int64 }{
		{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, msPerDay, -1}, {msPerDay, msPerDay, 1},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, floorDiv(tc.a, tc.b), "floorDiv(%d, %d)", tc.a, tc.b)
	}
}

func TestInList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vals []int64
		in   string
		args []any
	}{
		{nil, "(NULL)", nil},
		{[]int64{7}, "(?)", []any{int64(7)}},
		{[]int64{1, 2, 3}, "(?,?,?,?)", []any{int64(1), int64(2), int64(3), int64(3)}},
	}
	for _, tc := range cases {
		in, args := inList(tc.vals)
		require.Equal(t, tc.in, in)
		require.Equal(t, tc.args, args)
	}
}
