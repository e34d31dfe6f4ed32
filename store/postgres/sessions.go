package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// CreateSession stores a new session; ErrConflict when the id exists.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	const op = "create session"
	if sess.ID == "" {
		return invalid(op, "empty session id")
	}
	return wrap(op, s.inTx(ctx, func(tx pgx.Tx) error {
		if err := userExists(ctx, tx, sess.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, sess.ID, sess.UserID, sess.CSRFToken, ts(sess.CreatedAt), ts(sess.ExpiresAt))
		return err
	}))
}

// GetSession returns the session unless it is unknown or expired at now.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (*store.Session, error) {
	var sess store.Session
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, csrf_token, created_at, expires_at FROM sessions
		WHERE id = $1 AND expires_at > $2`, id, ts(now)).
		Scan(&sess.ID, &sess.UserID, &sess.CSRFToken, &sess.CreatedAt, &sess.ExpiresAt)
	if err != nil {
		return nil, wrap("get session", err)
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return &sess, nil
}

// DeleteSession removes a session; removing an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return wrap("delete session", err)
}

// DeleteExpiredSessions removes sessions with ExpiresAt <= now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
