package postgres

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/storetest"
)

func TestZZPrep(t *testing.T) {
	if os.Getenv("ZZ_PREP") == "" { t.Skip() }
	url := os.Getenv("SPOTIFYHIST_TEST_DATABASE_URL")
	ctx := context.Background()
	s, err := New(ctx, Config{URL: url, Schema: "zz_bench"})
	if err != nil { t.Fatal(err) }
	defer s.Close()
	n := 1_000_000
	tracks := 50_000
	ds := storetest.GenerateDataset(storetest.DatasetOpts{Seed: 2, Plays: n, Tracks: tracks, Artists: tracks * 8 / 50})
	u := storetest.NewUser(ctx, t, s, &storetest.UserOpts{ID: "bench"})
	began := time.Now()
	for i := 0; i < n; i += 5000 {
		if _, err := s.InsertPlays(ctx, &store.InsertPlaysParams{UserID: u.ID, Plays: ds.Inputs(i, min(n, i+5000), store.SourceHistory)}); err != nil { t.Fatal(err) }
	}
	fmt.Println("loaded in", time.Since(began))
}
