package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestPlanDays(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	kolkata := mustLoad(t, "Asia/Kolkata")
	day := func(y int, m time.Month, d int) int64 {
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli() / dayMS
	}
	at := func(y int, m time.Month, d, h, min int) int64 {
		return time.Date(y, m, d, h, min, 0, 0, time.UTC).UnixMilli()
	}
	cases := []struct {
		name   string
		lo, hi int64
		loc    *time.Location
		runs   []dayRun
		raw    []span
	}{
		{"Empty", at(2023, 1, 2, 0, 0), at(2023, 1, 2, 0, 0), time.UTC, nil, nil},
		{"WholeDaysUTC", at(2023, 1, 1, 0, 0), at(2023, 1, 11, 0, 0), time.UTC,
			[]dayRun{{day(2023, 1, 1), day(2023, 1, 11), 0}}, nil},
		{"PartialEdges", at(2023, 1, 1, 12, 0), at(2023, 1, 4, 6, 0), time.UTC,
			[]dayRun{{day(2023, 1, 2), day(2023, 1, 4), 0}},
			[]span{{at(2023, 1, 1, 12, 0), at(2023, 1, 2, 0, 0)}, {at(2023, 1, 4, 0, 0), at(2023, 1, 4, 6, 0)}}},
		{"InsideOneDay", at(2023, 1, 1, 3, 0), at(2023, 1, 1, 4, 0), time.UTC,
			nil, []span{{at(2023, 1, 1, 3, 0), at(2023, 1, 1, 4, 0)}}},
		{"HalfHourZone", at(2023, 1, 1, 0, 0), at(2023, 2, 1, 0, 0), kolkata,
			[]dayRun{{day(2023, 1, 1), day(2023, 2, 1), 330}}, nil},
		{"DaylightSavingChange", at(2023, 3, 10, 0, 0), at(2023, 3, 15, 0, 0), ny,
			// New York springs forward at 07:00 UTC on 12 March: that day is read from the plays.
			[]dayRun{{day(2023, 3, 10), day(2023, 3, 12), -300}, {day(2023, 3, 13), day(2023, 3, 15), -240}},
			[]span{{at(2023, 3, 12, 0, 0), at(2023, 3, 13, 0, 0)}}},
		{"OffsetNotQuarterHours", at(2023, 1, 1, 0, 0), at(2023, 1, 3, 0, 0), time.FixedZone("odd", 7*60),
			nil, []span{{at(2023, 1, 1, 0, 0), at(2023, 1, 3, 0, 0)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runs, raw := planDays(tc.lo, tc.hi, tc.loc)
			require.Equal(t, tc.runs, runs, "whole days with one quarter-hour offset")
			require.Equal(t, tc.raw, raw, "spans read from the plays")
		})
	}
}

// TestDayRunLocalDays checks the split of UTC days into local days and
// hours against the time package, for every quarter-hour of a few days.
func TestDayRunLocalDays(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati"} {
		loc := mustLoad(t, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lo := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			runs, raw := planDays(lo, lo+3*dayMS, loc)
			require.Empty(t, raw, "no offset change in early June")
			require.Len(t, runs, 1)
			r := runs[0]
			for d := r.lo; d < r.hi; d++ {
				for q := int64(0); q < quarters; q++ {
					lt := time.UnixMilli(d*dayMS + q*quarterMS).In(loc)
					wantDay := civilDay(lt, loc)
					got := r.localDay(d, q)
					require.Equal(t, wantDay, got, "local day of %s", lt)
					if q < r.split() {
						require.Equal(t, r.localDay(d, r.split())-1, got, "quarter-hours before the split fall on the earlier local day")
					} else {
						require.Equal(t, r.localDay(d, r.split()), got, "quarter-hours from the split fall on the later local day")
					}
					if (q-r.phase())%4 == 0 {
						require.Zero(t, lt.Minute(), "the phase quarter-hours start local hours (%s)", lt)
					}
				}
			}
		})
	}
}

func TestPlanRange(t *testing.T) {
	t.Parallel()
	ms := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli() }
	first, last := ms(2010, 3, 1), ms(2025, 6, 1)
	whole := func(y int16) yearPart { return yearPart{year: y, whole: true, first: 1, last: 12} }
	cases := []struct {
		name   string
		lo, hi int64
		want   rangePlan
	}{
		{"EveryPlay", ms(2000, 1, 1), ms(2030, 1, 1), rangePlan{all: true}},
		{"ExactlyTheData", first, last + 1, rangePlan{all: true}},
		{"WholeYears", ms(2012, 1, 1), ms(2015, 1, 1), rangePlan{parts: []yearPart{whole(2012), whole(2013), whole(2014)}}},
		{"YearsAlmostWhole", ms(2012, 1, 1) + 777, ms(2014, 1, 1), rangePlan{
			parts: []yearPart{{year: 2012, first: 1, last: 12}, whole(2013)},
			spans: []signedSpan{{span{ms(2012, 1, 1), ms(2012, 1, 1) + 777}, -1}}}},
		{"WholeMonth", ms(2014, 5, 1), ms(2014, 6, 1), rangePlan{parts: []yearPart{{year: 2014, first: 5, last: 5}}}},
		{"MonthsCutInside", ms(2014, 5, 10), ms(2014, 7, 20), rangePlan{
			parts: []yearPart{{year: 2014, first: 5, last: 7}},
			spans: []signedSpan{{span{ms(2014, 5, 1), ms(2014, 5, 10)}, -1}, {span{ms(2014, 7, 20), ms(2014, 8, 1)}, -1}}}},
		{"DaysInOneMonth", ms(2014, 5, 10), ms(2014, 5, 12), rangePlan{spans: []signedSpan{{span{ms(2014, 5, 10), ms(2014, 5, 12)}, 1}}}},
		{"AcrossNewYear", ms(2014, 12, 20), ms(2015, 1, 10), rangePlan{spans: []signedSpan{
			{span{ms(2014, 12, 20), ms(2015, 1, 1)}, 1}, {span{ms(2015, 1, 1), ms(2015, 1, 10)}, 1}}}},
		{"FirstYearClippedToData", ms(2010, 2, 1), ms(2011, 1, 1), rangePlan{parts: []yearPart{whole(2010)}}},
		{"LastYearClippedToData", ms(2024, 2, 1), ms(2026, 1, 1), rangePlan{parts: []yearPart{{year: 2024, first: 2, last: 12}, whole(2025)}}},
		{"AfterEveryPlay", ms(2026, 1, 1), ms(2027, 1, 1), rangePlan{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, planRange(tc.lo, tc.hi, first, last))
		})
	}
}

func TestYearBit(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(1), yearBit(yearBase))
	require.Equal(t, int64(-1<<63), yearBit(yearMax), "the last year is the sign bit")
	require.Zero(t, yearBit(yearBase-1))
	require.Zero(t, yearBit(yearMax+1))
}
