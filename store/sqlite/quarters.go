package sqlite

import (
	"encoding/binary"
	"errors"
	"strconv"
)

const (
	msPerQuarter = 15 * 60 * 1000
	msPerDay     = 24 * 60 * 60 * 1000
	// quartersPerDay is the number of quarter hours in a UTC day.
	quartersPerDay = msPerDay / msPerQuarter
)

// quarter is the plays and time of one quarter hour.
type quarter struct{ plays, ms int64 }

// quarters are the 96 quarter hours of one UTC day.
type quarters [quartersPerDay]quarter

func (q *quarters) add(d *quarters) {
	for i := range q {
		q[i].plays += d[i].plays
		q[i].ms += d[i].ms
	}
}

func (q *quarters) total() (plays, ms int64) {
	for _, x := range q {
		plays += x.plays
		ms += x.ms
	}
	return plays, ms
}

// encode writes the non-empty quarters as (slot byte, uvarint plays, uvarint
// ms) triples in slot order.
func (q *quarters) encode() []byte {
	b := make([]byte, 0, 64)
	for i, x := range q {
		if x.plays == 0 {
			continue
		}
		b = append(b, byte(i))
		b = binary.AppendUvarint(b, uint64(x.plays))
		b = binary.AppendUvarint(b, uint64(x.ms))
	}
	return b
}

var errBadQuarters = errors.New("corrupt quarter-hour rollup")

// decodeQuarters reads what encode wrote; nil is an empty day.
func decodeQuarters(b []byte) (*quarters, error) {
	q := &quarters{}
	err := eachQuarter(b, func(slot int, plays, ms int64) { q[slot] = quarter{plays, ms} })
	return q, err
}

// eachQuarter calls fn for every non-empty quarter of an encoded day.
func eachQuarter(b []byte, fn func(slot int, plays, ms int64)) error {
	for len(b) > 0 {
		slot := int(b[0])
		plays, n := binary.Uvarint(b[1:])
		if n <= 0 || slot >= quartersPerDay {
			return errBadQuarters
		}
		b = b[1+n:]
		ms, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadQuarters
		}
		b = b[n:]
		fn(slot, int64(plays), int64(ms))
	}
	return nil
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
