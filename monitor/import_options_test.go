package monitor

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/spotifyhist/spotifyhist/dedupe"
	"github.com/spotifyhist/spotifyhist/store"
)

// TestImportOptions: the per-call options change what counts as a play.
func TestImportOptions(t *testing.T) {
	t.Parallel()
	c := importCorpus(3000/importScale, 17)
	src := zipSource(t, c)
	st := openTestSQLite(t)
	user := c.Config.UserID
	addImportUser(t, st, user)
	prefill(t, st, user, c.Capture(store.ModeHistory))
	im := newTestImporter(t, st, ImporterConfig{})
	ctx := context.Background()
	def, err := im.Analyze(ctx, user, src, nil)
	require.NoError(t, err)
	require.Zero(t, def.Excluded["skipped"], "skipped plays count by default")
	require.Equal(t, "one_to_one", def.Policy)
	for _, tc := range []struct {
		name  string
		opts  ImportOptions
		check func(t *testing.T, a *Analysis)
	}{
		{name: "ExcludeSkipped", opts: ImportOptions{ExcludeSkipped: true}, check: func(t *testing.T, a *Analysis) {
			require.Positive(t, a.Excluded["skipped"])
			require.Less(t, a.ToImport, def.ToImport)
		}},
		{name: "NoMinimum", opts: ImportOptions{MinPlay: -1}, check: func(t *testing.T, a *Analysis) {
			require.Zero(t, a.Excluded["too_short"])
			require.Greater(t, a.ToImport, def.ToImport)
		}},
		{name: "OriginalPolicy", opts: ImportOptions{Policy: dedupe.Original()}, check: func(t *testing.T, a *Analysis) {
			require.Equal(t, "original", a.Policy)
			require.Less(t, a.ToImport, def.ToImport, "the original policy drops missed plays")
		}},
		{name: "FileName", opts: ImportOptions{FileName: "upload-42.zip"}, check: func(t *testing.T, a *Analysis) {
			require.Equal(t, "upload-42.zip", a.FileName)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := im.Analyze(ctx, user, src, &tc.opts)
			require.NoError(t, err)
			requireAnalysisSums(t, a)
			require.Equal(t, def.Total, a.Total)
			require.Equal(t, def.Digest, a.Digest)
			tc.check(t, a)
		})
	}
}

// TestImportInProgress: the same file cannot be imported twice at once for
// one user.
func TestImportInProgress(t *testing.T) {
	t.Parallel()
	c := importCorpus(1500/importScale, 19)
	src := zipSource(t, c)
	st := openTestSQLite(t)
	user := c.Config.UserID
	addImportUser(t, st, user)
	im := newTestImporter(t, st, ImporterConfig{BatchSize: 100})
	ctx := context.Background()
	started, resume := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		first := true
		_, err := im.Execute(ctx, user, src, nil, func(ImportUpdate) {
			if first {
				first = false
				close(started)
				<-resume
			}
		})
		done <- err
	}()
	<-started
	_, err := im.Execute(ctx, user, src, nil, nil)
	require.ErrorIs(t, err, ErrImportInProgress)
	_, err = im.Analyze(ctx, user, src, nil)
	require.NoError(t, err, "analysing stays possible")
	close(resume)
	require.NoError(t, <-done)
}

// TestImportMetrics checks the importer's metrics.
func TestImportMetrics(t *testing.T) {
	t.Parallel()
	c := importCorpus(1500/importScale, 23)
	src := zipSource(t, c)
	st := openTestSQLite(t)
	user := c.Config.UserID
	addImportUser(t, st, user)
	reg := prometheus.NewPedanticRegistry()
	im := newTestImporter(t, st, ImporterConfig{Registerer: reg})
	_, err := newTestImporter(t, st, ImporterConfig{Registerer: reg}).Analyze(context.Background(), user, src, nil)
	require.NoError(t, err, "a second importer shares the registered metrics")
	res, err := im.Execute(context.Background(), user, src, nil, nil)
	require.NoError(t, err)
	_, err = im.Execute(context.Background(), user, src, nil, nil)
	require.NoError(t, err)

	require.InDelta(t, float64(res.Imported), testutil.ToFloat64(im.metrics.entries.WithLabelValues("imported")), 0)
	require.InDelta(t, float64(res.Excluded["too_short"]), testutil.ToFloat64(im.metrics.entries.WithLabelValues("too_short")), 0)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP spotifyhist_import_runs_total Import analyses and executions, by operation (analyze, execute) and result (ok, error, already_imported).
# TYPE spotifyhist_import_runs_total counter
spotifyhist_import_runs_total{op="analyze",result="ok"} 1
spotifyhist_import_runs_total{op="execute",result="already_imported"} 1
spotifyhist_import_runs_total{op="execute",result="ok"} 1
`), "spotifyhist_import_runs_total"))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
