package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/spotifyhist/spotifyhist/monitor"
	"github.com/spotifyhist/spotifyhist/spotifyhist"
)

// Import job states shown to the browser.
const (
	jobAnalysed  = "analysed"  // uploaded and analysed; waiting for execute
	jobRunning   = "running"   // executing in the background
	jobDone      = "done"      // finished
	jobFailed    = "failed"    // stopped with an error; running it again resumes
	jobDiscarded = "discarded" // the user threw the upload away
)

// pendingUploadTTL is how long an analysed upload waits for execute before
// its file is removed.
const pendingUploadTTL = 24 * time.Hour

// importJob is one uploaded export. Jobs live in memory on the replica that
// received the upload (the file is there); their progress is also in the
// store's import record, so a reload shows it and a restart resumes it.
type importJob struct {
	mu         sync.Mutex
	ID         string
	UserID     string
	FileName   string
	path       string
	size       int64
	State      string
	Analysis   *monitor.Analysis
	Total      int
	Processed  int
	Imported   int
	Duplicates int
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
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
	return importJobJSON{
		ID: j.ID, FileName: j.FileName, State: j.State, Analysis: j.Analysis, Total: j.Total,
		Processed: j.Processed, Imported: j.Imported, Duplicates: j.Duplicates, Error: j.Error,
		CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.UpdatedAt.UTC(),
	}
}

type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

func (js *importJobs) add(j *importJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.jobs[j.ID] = j
}

// get returns the user's job (never another user's).
func (js *importJobs) get(userID, id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	j := js.jobs[id]
	if j == nil || j.UserID != userID {
		return nil
	}
	return j
}

func (js *importJobs) list(userID string) []*importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []*importJob
	for _, j := range js.jobs {
		if j.UserID == userID {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].CreatedAt.After(out[b].CreatedAt) })
	return out
}

// expire removes analysed uploads nobody executed, and their files.
func (js *importJobs) expire(now time.Time) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for id, j := range js.jobs {
		j.mu.Lock()
		stale := j.State == jobAnalysed && now.Sub(j.UpdatedAt) > pendingUploadTTL
		if stale {
			os.Remove(j.path)
			j.State = jobDiscarded
		}
		j.mu.Unlock()
		if stale {
			delete(js.jobs, id)
		}
	}
}

func (s *Server) handleImports(w http.ResponseWriter, r *http.Request) {
	s.imports.expire(s.now())
	jobs := s.imports.list(userFrom(r).ID)
	out := struct {
		Items []importJobJSON `json:"items"`
	}{Items: make([]importJobJSON, 0, len(jobs))}
	for _, j := range jobs {
		out.Items = append(out.Items, j.json())
	}
	writeJSON(w, http.StatusOK, out)
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
// A bad file is answered with a clear 4xx and leaves nothing behind.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Importer == nil {
		writeError(w, http.StatusNotFound, "imports are switched off on this instance")
		return
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", s.cfg.MaxUploadBytes))
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
	f, err := os.CreateTemp(s.cfg.UploadDir, "upload-*")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	path := f.Name()
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	size, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", s.cfg.MaxUploadBytes))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "upload interrupted: "+err.Error())
		return
	case size == 0:
		writeError(w, http.StatusBadRequest, "empty upload: send the export ZIP or JSON file as the body")
		return
	}
	now := s.now()
	j := &importJob{
		ID: randomToken()[:22], UserID: userFrom(r).ID, FileName: name, path: path, size: size,
		State: jobAnalysed, CreatedAt: now, UpdatedAt: now,
	}
	src, closeSrc, err := j.source()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	a, err := s.cfg.Importer.Analyze(r.Context(), j.UserID, src, nil)
	closeSrc()
	if err != nil {
		s.importInputError(w, r, err)
		return
	}
	j.Analysis = a
	j.Total = a.Total
	keep = true
	s.imports.add(j)
	writeJSON(w, http.StatusCreated, j.json())
}

// uploadBody finds the file in the request.
func uploadBody(r *http.Request) (io.Reader, string, error) {
	name := "upload"
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		if n := r.URL.Query().Get("name"); n != "" {
			name = filepath.Base(n)
		}
		return r.Body, name, nil
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
			return nil, "", fmt.Errorf("malformed multipart body: %w", err)
		}
		if p.FormName() == "file" {
			if fn := p.FileName(); fn != "" {
				name = filepath.Base(fn)
			}
			return p, name, nil
		}
	}
}

// source opens the job's file for the export reader.
func (j *importJob) source() (spotifyhist.ExportSource, func(), error) {
	f, err := os.Open(j.path)
	if err != nil {
		return spotifyhist.ExportSource{}, nil, err
	}
	return spotifyhist.ExportSource{ReaderAt: f, Size: j.size, Name: j.FileName}, func() { f.Close() }, nil
}

// importInputError answers an export the reader or importer rejected.
func (s *Server) importInputError(w http.ResponseWriter, r *http.Request, err error) {
	var limit *spotifyhist.ExportLimitError
	var ferr *spotifyhist.ExportFileError
	switch {
	case errors.As(err, &limit):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, spotifyhist.ErrNotExport), errors.Is(err, spotifyhist.ErrUnsupportedFormat), errors.As(err, &ferr):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusRequestTimeout, "upload cancelled")
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) handleDiscardImport(w http.ResponseWriter, r *http.Request) {
	j := s.imports.get(userFrom(r).ID, r.PathValue("id"))
	if j == nil {
		writeError(w, http.StatusNotFound, "import not found")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.State != jobAnalysed {
		writeError(w, http.StatusConflict, "only an analysed import that has not run can be discarded")
		return
	}
	os.Remove(j.path)
	j.State = jobDiscarded
	j.UpdatedAt = s.now()
	w.WriteHeader(http.StatusNoContent)
}

// handleExecute starts the import in the background, on the server's own
// context: closing the browser loses nothing, and a failed run can be
// started again and resumes from the stored progress.
func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request) {
	j := s.imports.get(userFrom(r).ID, r.PathValue("id"))
	if j == nil {
		writeError(w, http.StatusNotFound, "import not found")
		return
	}
	j.mu.Lock()
	if j.State != jobAnalysed && j.State != jobFailed {
		state := j.State
		j.mu.Unlock()
		writeError(w, http.StatusConflict, "import is "+state+"; only an analysed or failed import can run")
		return
	}
	j.State = jobRunning
	j.Error = ""
	j.UpdatedAt = s.now()
	j.mu.Unlock()
	if s.shutdown.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, "server is shutting down")
		return
	}
	s.wg.Go(func() { s.runImport(j) })
	writeJSON(w, http.StatusAccepted, j.json())
}

func (s *Server) runImport(j *importJob) {
	ctx := s.shutdown
	src, closeSrc, err := j.source()
	if err == nil {
		defer closeSrc()
		var res *monitor.ImportResult
		res, err = s.cfg.Importer.Execute(ctx, j.UserID, src, nil, func(p monitor.ImportUpdate) {
			j.mu.Lock()
			j.Processed, j.Total, j.Imported = p.Processed, p.Total, p.Imported
			j.UpdatedAt = s.now()
			j.mu.Unlock()
		})
		if err == nil {
			j.mu.Lock()
			j.Imported, j.Duplicates, j.Processed = res.Imported, res.Duplicates, j.Total
			j.mu.Unlock()
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.UpdatedAt = s.now()
	if err != nil {
		j.State = jobFailed
		j.Error = err.Error()
		if ctx.Err() != nil {
			j.Error = "the server stopped during the import; it resumes when started again"
		}
		s.log.Warn("import failed", "user_id", j.UserID, "import", j.ID, "error", err)
		return
	}
	j.State = jobDone
	os.Remove(j.path)
	s.log.Info("import done", "user_id", j.UserID, "import", j.ID, "imported", j.Imported, "duplicates", j.Duplicates)
}
