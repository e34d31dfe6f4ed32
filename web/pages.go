package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// assetVersion is a digest of the embedded static files. Pages link assets
// as /static/NAME?v=VERSION so that a new binary's scripts and styles are
// fetched at once although browsers may cache them for an hour.
var assetVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// assetURL is the template function "asset".
func assetURL(name string) string {
	return "/static/" + (&url.URL{Path: name}).EscapedPath() + "?v=" + assetVersion
}

// pages are parsed once; each page template is executed with the layout.
var pages = template.Must(template.New("").Funcs(template.FuncMap{"asset": assetURL}).ParseFS(templateFS, "templates/*.html"))

// pageData is what every page template receives. Everything in it is
// escaped by html/template; the pages' scripts fetch the rest from the API
// and insert it as text.
type pageData struct {
	// Page names the page (body class, current navigation link).
	Page string
	// Script is the page's script under static/; pages with a script also
	// load Chart.js and common.js.
	Script      string
	Title       string
	Message     string
	LoggedIn    bool
	LocalMode   bool
	Demo        bool
	PublicStats bool
	UserID      string
	DisplayName string
	CSRFToken   string
	Year        int
	Now         time.Time
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.LocalMode = s.LocalMode()
	d.Demo = s.cfg.Demo
	d.PublicStats = s.cfg.PublicStats
	d.Now = s.now()
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageUser fills the user part of pageData; it returns false (after
// redirecting to the public page) when nobody is logged in.
func (s *Server) pageUser(w http.ResponseWriter, r *http.Request, d *pageData) bool {
	u, sess, err := s.currentUser(w, r)
	if err != nil {
		s.log.ErrorContext(r.Context(), "resolve user", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return false
	}
	if u == nil {
		return false
	}
	d.LoggedIn = true
	d.UserID = u.ID
	d.DisplayName = u.DisplayName
	if d.DisplayName == "" {
		d.DisplayName = u.ID
	}
	d.CSRFToken = sess.CSRFToken
	return true
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Listening on this instance", Page: "index", Script: "index.js"}
	if s.LocalMode() {
		// Local mode has one user and no login: the dashboard is the home page.
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	s.pageUser(w, r, &d)
	s.renderPage(w, r, http.StatusOK, "index.html", d)
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Your listening", Page: "dashboard", Script: "dashboard.js"}
	if !s.pageUser(w, r, &d) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderPage(w, r, http.StatusOK, "dashboard.html", d)
}

func (s *Server) handleYear(w http.ResponseWriter, r *http.Request) {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || year < 2000 || year > 9999 {
		http.NotFound(w, r)
		return
	}
	d := pageData{Title: "Your " + strconv.Itoa(year), Year: year, Page: "year", Script: "year.js"}
	if !s.pageUser(w, r, &d) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderPage(w, r, http.StatusOK, "year.html", d)
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	sub, _ := fs.Sub(staticFS, "static")
	if r.URL.Query().Get("v") == assetVersion {
		// The URL names this exact content: it never changes.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=3600")
	}
	http.StripPrefix("/static/", http.FileServerFS(sub)).ServeHTTP(w, r)
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}
