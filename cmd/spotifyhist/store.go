package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spotifyhist/spotifyhist/store"
	"github.com/spotifyhist/spotifyhist/store/postgres"
	"github.com/spotifyhist/spotifyhist/store/sqlite"
)

// openStore opens (and migrates) the configured database.
func openStore(ctx context.Context, e *env, reg prometheus.Registerer) (store.Store, error) {
	target, err := e.cfg.database()
	if err != nil {
		return nil, err
	}
	switch target.kind {
	case "postgres":
		s, err := postgres.New(ctx, postgres.Config{URL: target.url, Logger: e.logger, Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return s, nil
	default:
		if err := ensureDataDir(filepath.Dir(target.path)); err != nil {
			return nil, err
		}
		s, err := sqlite.New(ctx, sqlite.Config{Path: target.path, Logger: e.logger, Registerer: reg})
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", target.path, err)
		}
		return s, nil
	}
}

// secretKey returns the key that seals tokens: SPOTIFYHIST_SECRET_KEY when
// set; otherwise (SQLite only, validated) a random key generated once into
// the data dir with mode 0600.
func secretKey(e *env) (string, error) {
	if e.cfg.SecretKey != "" {
		return e.cfg.SecretKey, nil
	}
	if err := ensureDataDir(e.cfg.DataDir); err != nil {
		return "", err
	}
	path := filepath.Join(e.cfg.DataDir, secretKeyFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("secret key file %s is empty: delete it to generate a new one (stored tokens then need a new login)", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read secret key: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	key := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return secretKey(e)
		}
		return "", fmt.Errorf("write secret key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write secret key: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write secret key: %w", err)
	}
	e.logger.Info("generated a secret key for tokens at rest", "path", path)
	return key, nil
}
