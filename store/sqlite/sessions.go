package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// CreateSession stores a new session (ErrConflict when the id exists).
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	if sess.ID == "" {
		return wrap("create session", invalid("session without an id"))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		user, err := userPK(ctx, tx, sess.UserID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (id, user_pk, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sess.ID, user, sess.CSRFToken, msOf(sess.CreatedAt), msOf(sess.ExpiresAt))
		return err
	})
	return wrap("create session", err)
}

// GetSession returns ErrNotFound for an unknown or expired session.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (*store.Session, error) {
	var (
		sess             store.Session
		created, expires int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT s.id, u.id, s.csrf_token, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.pk = s.user_pk WHERE s.id = ? AND s.expires_at > ?`, id, msOf(now)).
		Scan(&sess.ID, &sess.UserID, &sess.CSRFToken, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("get session", notFound("session", "(hidden)"))
	}
	if err != nil {
		return nil, wrap("get session", err)
	}
	sess.CreatedAt, sess.ExpiresAt = timeOf(created), timeOf(expires)
	return &sess, nil
}

// DeleteSession removes a session; deleting an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
	return wrap("delete session", err)
}

// DeleteExpiredSessions removes sessions with ExpiresAt <= now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, msOf(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete expired sessions", err)
}
