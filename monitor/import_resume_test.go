package monitor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/store"
)

var errImportCrash = errors.New("simulated crash")

// importCrashStore lets `after` batches through, then fails every write, as
// the database looks to a process killed in the middle of an import.
type importCrashStore struct {
	store.Store
	after int

	mu      sync.Mutex
	batches int
	dead    bool
}

func (s *importCrashStore) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	s.mu.Lock()
	if s.dead || s.batches >= s.after {
		s.dead = true
		s.mu.Unlock()
		return nil, errImportCrash
	}
	s.batches++
	s.mu.Unlock()
	return s.Store.InsertPlays(ctx, p)
}

func (s *importCrashStore) UpdateImport(ctx context.Context, p *store.UpdateImportParams) error {
	s.mu.Lock()
	dead := s.dead
	s.mu.Unlock()
	if dead {
		return errImportCrash
	}
	return s.Store.UpdateImport(ctx, p)
}

// importState is what an import leaves in the store, with the import's own
// id replaced so that two stores compare.
type importState struct {
	plays []store.PlayWithTrack
	rec   store.Import
}

func snapshotImport(t testing.TB, st store.Store, user, importID string) importState {
	t.Helper()
	plays := allPlays(t, st, user)
	for i := range plays {
		if plays[i].ImportID == importID {
			plays[i].ImportID = "this-import"
		}
	}
	rec, err := st.GetImport(context.Background(), importID)
	require.NoError(t, err)
	rec.ID, rec.CreatedAt, rec.UpdatedAt = "", time.Time{}, time.Time{}
	return importState{plays: plays, rec: *rec}
}

// TestImportResume interrupts imports (a cancelled context, a crash) and
// checks that running them again ends as a clean run does.
func TestImportResume(t *testing.T) {
	t.Parallel()
	c := importCorpus(4000/importScale, 5)
	src := zipSource(t, c)
	user := c.Config.UserID
	forEachImportBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		ctx := context.Background()
		setup := func(t *testing.T) store.Store {
			st := open(t)
			addImportUser(t, st, user)
			prefill(t, st, user, c.Capture(store.ModeRealtime))
			return st
		}
		const batch = 500 / importScale
		clean := setup(t)
		want, err := newTestImporter(t, clean, ImporterConfig{BatchSize: batch}).Execute(ctx, user, src, nil, nil)
		require.NoError(t, err)
		wantState := snapshotImport(t, clean, user, want.ImportID)

		t.Run("CancelledContext", func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			im := newTestImporter(t, st, ImporterConfig{BatchSize: batch})
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			batches := 0
			stopped, err := im.Execute(cctx, user, src, nil, func(u ImportUpdate) {
				if u.Phase == ImportPhaseImporting {
					if batches++; batches == 3 {
						cancel()
					}
				}
			})
			require.ErrorIs(t, err, context.Canceled)
			rec, err := st.GetImport(ctx, stopped.ImportID)
			require.NoError(t, err)
			require.Equal(t, store.ImportFailed, rec.State)
			require.Equal(t, 3*batch, rec.Processed, "three batches went through")
			require.Contains(t, rec.Error, "context canceled")

			var updates []ImportUpdate
			got, err := im.Execute(ctx, user, src, nil, func(u ImportUpdate) { updates = append(updates, u) })
			require.NoError(t, err)
			require.True(t, got.Resumed)
			require.Equal(t, 3*batch, updates[0].Processed, "the resumed run starts where the first stopped")
			require.Equal(t, want.Imported, got.Imported)
			require.Equal(t, want.Excluded, got.Excluded)
			require.Equal(t, wantState, snapshotImport(t, st, user, got.ImportID))
		})

		t.Run("Crash", func(t *testing.T) {
			t.Parallel()
			st := setup(t)
			crash := &importCrashStore{Store: st, after: 2}
			stopped, err := newTestImporter(t, crash, ImporterConfig{BatchSize: batch}).Execute(ctx, user, src, nil, nil)
			require.ErrorIs(t, err, errImportCrash)
			rec, err := st.GetImport(ctx, stopped.ImportID)
			require.NoError(t, err)
			require.Equal(t, store.ImportRunning, rec.State, "a killed process records nothing")
			require.Equal(t, 2*batch, rec.Processed)

			_, err = newTestImporter(t, st, ImporterConfig{BatchSize: batch}).Execute(ctx, user, src, nil, nil)
			require.ErrorIs(t, err, ErrImportInProgress, "a fresh running import may belong to another process")

			later := func() time.Time { return importNow.Add(ImportStaleAfterDefault + time.Second) }
			got, err := newTestImporter(t, st, ImporterConfig{BatchSize: batch, Now: later}).Execute(ctx, user, src, nil, nil)
			require.NoError(t, err)
			require.True(t, got.Resumed)
			require.Equal(t, want.Imported, got.Imported)
			require.Equal(t, want.Excluded, got.Excluded)
			require.Equal(t, wantState, snapshotImport(t, st, user, got.ImportID))
		})
	})
}
