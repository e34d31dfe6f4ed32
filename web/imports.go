package web

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
	"github.com/spotifyhist/spotifyhist/store"
)

// Import job states shown to the browser.
const (
	jobAnalysed = "analysed" // uploaded and analysed; waiting for execute
	jobRunning  = "running"  // executing in the background
	jobDone     = "done"     // finished
	jobFailed   = "failed"   // stopped with an error; running it again resumes
)

const (
	// importJobTTL: a job that is not running is forgotten, and its upload
	// removed, after this long without activity.
	importJobTTL = 24 * time.Hour
	// maxOpenImports is how many uploads a user may hold that are not
	// done: each keeps its file on disk until it is imported or discarded.
	maxOpenImports = 5
	// maxUploadName caps the file name kept for display.
	maxUploadName = 200
	// uploadPrefix starts the name of every upload file, so that cleaning
	// UploadDir (by default the system's temporary directory) never touches
	// other files.
	uploadPrefix = "spotifyhist-upload-"
)

var (
	errTooManyImports = fmt.Errorf("you have %d uploads waiting: import or discard one first", maxOpenImports)
	errImportRunning  = errors.New("the import is running; it cannot be discarded")
)

// importJob is one uploaded export. Jobs live in memory on the replica that
// received the upload (the file is on its disk). Progress is also stored in
// the import record in the database, so uploading the same file again after
// a restart resumes where the import stopped.
type importJob struct {
	id        string
	userID    string
	fileName  string
	path      string
	size      int64
	createdAt time.Time

	mu         sync.Mutex
	state      string
	removed    bool               // dropped (discarded, expired, user deleted): never runs again
	cancel     context.CancelFunc // stops the running import
	done       chan struct{}      // closed when the last started run ended
	analysis   *monitor.Analysis
	total      int
	processed  int
	imported   int
	duplicates int
	errMsg     string
	updatedAt  time.Time
	storeID    string // the store's import record, once the import started
}

type importJobJSON struct {
	ID         string            `json:"id"`
	FileName   string            `json:"file_name"`
	State      string            `json:"state"`
	Analysis   *monitor.Analysis `json:"analysis"`
	Total      int               `json:"total"`
	Processed  int               `json:"processed"`
	Imported   int               `json:"imported"`
	Duplicates int               `json:"duplicates"`
	Error      string            `json:"error,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

func (j *importJob) json() importJobJSON {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.jsonLocked()
}

func (j *importJob) jsonLocked() importJobJSON {
	return importJobJSON{
		ID: j.id, FileName: j.fileName, State: j.state, Analysis: j.analysis, Total: j.total,
		Processed: j.processed, Imported: j.imported, Duplicates: j.duplicates, Error: j.errMsg,
		CreatedAt: j.createdAt.UTC(), UpdatedAt: j.updatedAt.UTC(),
	}
}

// importJobs are the jobs of this replica. Lock order: importJobs.mu, then
// importJob.mu.
type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

// open counts the user's jobs that are not done.
func (js *importJobs) open(userID string) int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.openLocked(userID)
}

func (js *importJobs) openLocked(userID string) int {
	n := 0
	for _, j := range js.jobs {
		if j.userID == userID {
			j.mu.Lock()
			if j.state != jobDone {
				n++
			}
			j.mu.Unlock()
		}
	}
	return n
}

// add registers a new job, unless its user already has maxOpenImports open.
func (js *importJobs) add(j *importJob) error {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.openLocked(j.userID) >= maxOpenImports {
		return errTooManyImports
	}
	js.jobs[j.id] = j
	return nil
}

// get returns the user's job (never another user's), or nil.
func (js *importJobs) get(userID, id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.jobs[id]
	if j == nil || j.userID != userID {
		return nil
	}
	return j
}

// list returns the user's jobs, newest first.
func (js *importJobs) list(userID string) []*importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []*importJob
	for _, j := range js.jobs {
		if j.userID == userID {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *importJob) int { return b.createdAt.Compare(a.createdAt) })
	return out
}

// discard drops the user's job and its file unless it is running. It
// returns false when the user has no such job.
func (js *importJobs) discard(userID, id string) (bool, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.jobs[id]
	if j == nil || j.userID != userID {
		return false, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == jobRunning {
		return true, errImportRunning
	}
	j.removed = true
	delete(js.jobs, id)
	removeUpload(j.path)
	return true, nil
}

// expire drops the jobs idle (not running) for importJobTTL, with their
// files.
func (js *importJobs) expire(now time.Time) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for id, j := range js.jobs {
		j.mu.Lock()
		if j.state != jobRunning && now.Sub(j.updatedAt) > importJobTTL {
			j.removed = true
			delete(js.jobs, id)
			removeUpload(j.path)
		}
		j.mu.Unlock()
	}
}

// removeUser drops every job of the user: idle ones with their files at
// once; running ones are cancelled (they remove their file when they end).
// It returns the channels that close when those have ended.
func (js *importJobs) removeUser(userID string) []<-chan struct{} {
	js.mu.Lock()
	defer js.mu.Unlock()
	var running []<-chan struct{}
	for id, j := range js.jobs {
		if j.userID != userID {
			continue
		}
		j.mu.Lock()
		j.removed = true
		if j.state == jobRunning {
			j.cancel()
			running = append(running, j.done)
		} else {
			removeUpload(j.path)
		}
		j.mu.Unlock()
		delete(js.jobs, id)
	}
	return running
}

// removeAll drops every job that is not running, with its file.
func (js *importJobs) removeAll() {
	js.mu.Lock()
	defer js.mu.Unlock()
	for id, j := range js.jobs {
		j.mu.Lock()
		if j.state != jobRunning {
			j.removed = true
			delete(js.jobs, id)
			removeUpload(j.path)
		}
		j.mu.Unlock()
	}
}

// sweepUploads removes upload files older than importJobTTL from dir: the
// jobs of a process that stopped without Close are gone with it, and no
// live job keeps an idle file that long.
func sweepUploads(dir string, now time.Time) (removed int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0 // no uploads yet
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), uploadPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > importJobTTL {
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				removed++
			}
		}
	}
	return removed
}

// stopImports drops the user's imports on this replica and waits until
// the running ones have stopped writing.
func (s *Server) stopImports(ctx context.Context, userID string) error {
	for _, done := range s.imports.removeUser(userID) {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func removeUpload(path string) {
	_ = os.Remove(path) // already gone after a successful import
}

// handleImports lists this replica's uploads and, after them, the user's
// import records that no upload here stands for (imports run before a
// restart or on another replica), so progress and results outlive the
// process that ran them.
func (s *Server) handleImports(w http.ResponseWriter, r *http.Request) {
	s.imports.expire(s.now())
	u := userFrom(r)
	jobs := s.imports.list(u.ID)
	stored, err := s.cfg.Store.ListImports(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Items []importJobJSON `json:"items"`
	}{Items: make([]importJobJSON, 0, len(jobs)+len(stored))}
	live := map[string]bool{}
	for _, j := range jobs {
		j.mu.Lock()
		live[j.storeID] = true
		out.Items = append(out.Items, j.jsonLocked())
		j.mu.Unlock()
	}
	for _, imp := range stored {
		if !live[imp.ID] {
			out.Items = append(out.Items, s.storedImportJSON(imp))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// staleImportAfter: a stored import still "running" without progress for
// this long was interrupted (its process stopped); uploading the file again
// resumes it.
const staleImportAfter = 2 * time.Minute

// storedImportJSON shows an import record that has no upload on this replica.
func (s *Server) storedImportJSON(imp store.Import) importJobJSON {
	j := importJobJSON{
		ID: imp.ID, FileName: imp.FileName, Total: imp.Total, Processed: imp.Processed,
		Imported: imp.Imported, Duplicates: imp.Duplicates, CreatedAt: imp.CreatedAt.UTC(), UpdatedAt: imp.UpdatedAt.UTC(),
	}
	switch imp.State {
	case store.ImportDone:
		j.State = jobDone
	case store.ImportFailed:
		j.State, j.Error = jobFailed, "the import failed; upload the same file again to resume"
	default:
		j.State = jobRunning
		if s.now().Sub(imp.UpdatedAt) > staleImportAfter {
			j.State, j.Error = jobFailed, "the import was interrupted; upload the same file again to resume"
		}
	}
	return j
}

func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	j := s.imports.get(userFrom(r).ID, r.PathValue("id"))
	if j == nil {
		writeError(w, http.StatusNotFound, "import not found")
		return
	}
	writeJSON(w, http.StatusOK, j.json())
}

// handleUpload streams the body (raw, or the "file" part of a multipart
// form) to a file under UploadDir, within MaxUploadBytes, then analyses it.
// A rejected upload is answered with a clear 4xx and leaves nothing behind.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Importer == nil {
		writeError(w, http.StatusNotFound, "imports are switched off on this instance")
		return
	}
	userID := userFrom(r).ID
	s.imports.expire(s.now())
	if s.imports.open(userID) >= maxOpenImports {
		writeError(w, http.StatusConflict, errTooManyImports.Error())
		return
	}
	tooLarge := fmt.Sprintf("upload larger than %d bytes", s.cfg.MaxUploadBytes)
	if r.ContentLength > s.cfg.MaxUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	body, name, err := uploadBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := os.MkdirAll(s.cfg.UploadDir, 0o700); err != nil {
		s.serverError(w, r, err)
		return
	}
	f, err := os.CreateTemp(s.cfg.UploadDir, uploadPrefix+"*")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	path := f.Name()
	keep := false
	defer func() {
		if !keep {
			removeUpload(path)
		}
	}()
	size, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil && cerr != nil {
		s.serverError(w, r, cerr)
		return
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return
	case err != nil:
		s.log.InfoContext(r.Context(), "upload interrupted", "user_id", userID, "error", err)
		writeError(w, http.StatusBadRequest, "upload interrupted before the end of the file")
		return
	case size == 0:
		writeError(w, http.StatusBadRequest, "empty upload: send the export ZIP or JSON file as the body")
		return
	}
	now := s.now()
	j := &importJob{
		id: randomToken()[:22], userID: userID, fileName: name, path: path, size: size,
		state: jobAnalysed, createdAt: now, updatedAt: now,
	}
	f, err = os.Open(path)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	a, err := s.cfg.Importer.Analyze(r.Context(), userID, j.source(f), nil)
	f.Close()
	if err != nil {
		s.importInputError(w, r, err)
		return
	}
	j.analysis = a
	j.total = a.Total
	if err := s.imports.add(j); err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	keep = true
	writeJSON(w, http.StatusCreated, j.json())
}

// uploadBody finds the file in the request: the body itself (named by the
// name query parameter), or the "file" part of a multipart form.
func uploadBody(r *http.Request) (io.Reader, string, error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return r.Body, uploadName(r.URL.Query().Get("name")), nil
	}
	if params["boundary"] == "" {
		return nil, "", errors.New("multipart body without boundary")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", fmt.Errorf("malformed multipart body: %w", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", errors.New(`multipart body has no "file" part`)
		}
		if err != nil {
			return nil, "", errors.New("malformed multipart body")
		}
		if p.FormName() == "file" {
			return p, uploadName(p.FileName()), nil
		}
	}
}

// uploadName makes a client's file name safe to keep and show: the base
// name only (of a Unix or Windows path), without control or format
// characters (no right-to-left override tricks), at most maxUploadName bytes. It is a label and a format hint for the export
// reader (…_Video_… files hold videos), never a path on this server.
func uploadName(raw string) string {
	name := filepath.Base(strings.ReplaceAll(raw, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(truncate(name, maxUploadName))
	if name == "" || name == "." || name == "/" || name == ".." {
		return "upload"
	}
	return name
}

// source describes the job's file, opened as f, for the export reader.
func (j *importJob) source(f *os.File) spotifyhist.ExportSource {
	return spotifyhist.ExportSource{ReaderAt: f, Size: j.size, Name: j.fileName}
}

// importErrorStatus classifies an import error: a 4xx status and a message
// for the user when the export itself is at fault, or 0 when the server is
// (its message, which may name server paths, goes to the log only).
func importErrorStatus(err error) (int, string) {
	var limit *spotifyhist.ExportLimitError
	switch {
	case errors.As(err, &limit):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, spotifyhist.ErrNotExport), errors.Is(err, spotifyhist.ErrUnsupportedFormat),
		errors.Is(err, spotifyhist.ErrExportCorrupt):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, zip.ErrInsecurePath):
		return http.StatusUnprocessableEntity, "the ZIP holds a file with an unsafe path (absolute or with ..); it is not a Spotify export"
	case errors.Is(err, monitor.ErrImportInProgress):
		return http.StatusConflict, "this file is being imported already"
	}
	return 0, ""
}

// importInputError answers an upload the reader or importer rejected.
func (s *Server) importInputError(w http.ResponseWriter, r *http.Request, err error) {
	if status, msg := importErrorStatus(err); status != 0 {
		writeError(w, status, msg)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		writeError(w, http.StatusRequestTimeout, "upload cancelled")
		return
	}
	s.serverError(w, r, err)
}

func (s *Server) handleDiscardImport(w http.ResponseWriter, r *http.Request) {
	found, err := s.imports.discard(userFrom(r).ID, r.PathValue("id"))
	switch {
	case !found:
		writeError(w, http.StatusNotFound, "import not found")
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleExecute starts the import in the background, on the server's own
// context: closing the browser loses nothing, and a failed run can be
// started again and resumes from the stored progress. Of concurrent
// requests for one job, one starts it and the others get 409.
func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request) {
	j := s.imports.get(userFrom(r).ID, r.PathValue("id"))
	if j == nil {
		writeError(w, http.StatusNotFound, "import not found")
		return
	}
	j.mu.Lock()
	if j.removed {
		j.mu.Unlock()
		writeError(w, http.StatusNotFound, "import not found")
		return
	}
	if prev := j.state; prev != jobAnalysed && prev != jobFailed {
		j.mu.Unlock()
		writeError(w, http.StatusConflict, "import is "+prev+"; only an analysed or failed import can run")
		return
	}
	prev, prevErr := j.state, j.errMsg
	ctx, cancel := context.WithCancel(s.shutdown)
	done := make(chan struct{})
	j.state, j.errMsg, j.cancel, j.done, j.updatedAt = jobRunning, "", cancel, done, s.now()
	started := j.jsonLocked()
	j.mu.Unlock()

	if !s.goBackground(func() { s.runImport(ctx, j, done) }) {
		cancel()
		j.mu.Lock()
		j.state, j.errMsg, j.cancel = prev, prevErr, nil
		close(done)
		j.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down; try again when it is back")
		return
	}
	writeJSON(w, http.StatusAccepted, started)
}

// runImport executes the job and records how it ended.
func (s *Server) runImport(ctx context.Context, j *importJob, done chan struct{}) {
	defer close(done)
	res, err := s.executeImport(ctx, j)

	j.mu.Lock()
	defer j.mu.Unlock()
	j.cancel()
	j.cancel = nil
	j.updatedAt = s.now()
	switch {
	case err == nil:
		j.state = jobDone
		j.storeID = res.ImportID
		j.total, j.processed, j.imported, j.duplicates = res.Total, res.Total, res.Imported, res.Duplicates
		removeUpload(j.path)
		s.log.InfoContext(ctx, "import done", "user_id", j.userID, "upload_id", j.id, "import_id", res.ImportID,
			"imported", res.Imported, "duplicates", res.Duplicates)
	default:
		j.state = jobFailed
		_, j.errMsg = importErrorStatus(err)
		switch {
		case j.errMsg != "":
		case ctx.Err() != nil:
			j.errMsg = "the import was stopped before the end; run it again to resume"
		default:
			j.errMsg = "the import failed (the server log has details); run it again to resume"
		}
		s.log.WarnContext(ctx, "import failed", "user_id", j.userID, "upload_id", j.id, "error", err)
		if j.removed {
			removeUpload(j.path)
		}
	}
}

func (s *Server) executeImport(ctx context.Context, j *importJob) (*monitor.ImportResult, error) {
	f, err := os.Open(j.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.cfg.Importer.Execute(ctx, j.userID, j.source(f), nil, func(p monitor.ImportUpdate) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.processed, j.total, j.imported = p.Processed, p.Total, p.Imported
		j.storeID = p.ImportID
		j.updatedAt = s.now()
	})
}
