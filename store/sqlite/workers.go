package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/spotifyhist/spotifyhist/store"
)

// RegisterWorker inserts or refreshes a worker row.
func (s *Store) RegisterWorker(ctx context.Context, p *store.RegisterWorkerParams) error {
	if p.ID == "" {
		return wrap("register worker", invalid("empty worker id"))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
			p.ID, msOf(p.Now), msOf(p.Now))
		return err
	})
	return wrap("register worker", err)
}

// Heartbeat sets Heartbeat = Now; ErrNotFound when the row was removed.
func (s *Store) Heartbeat(ctx context.Context, p *store.HeartbeatParams) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE workers SET heartbeat_at = ? WHERE id = ?`, msOf(p.Now), p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("worker", p.ID)
		}
		return nil
	})
	return wrap("heartbeat", err)
}

// DeleteStaleWorkers removes workers whose heartbeat is before Before and
// frees their leases.
func (s *Store) DeleteStaleWorkers(ctx context.Context, p *store.DeleteStaleWorkersParams) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM workers WHERE heartbeat_at < ? RETURNING id`, msOf(p.Before))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if err := freeLeases(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("delete stale workers", err)
	}
	return ids, nil
}

func freeLeases(ctx context.Context, tx *sql.Tx, workerID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET worker_id = NULL, lease_expires_at = NULL WHERE worker_id = ?`, workerID)
	return err
}

// DeleteWorker removes one worker and frees its leases.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM workers WHERE id = ?`, id); err != nil {
			return err
		}
		return freeLeases(ctx, tx, id)
	})
	return wrap("delete worker", err)
}

// ListWorkers returns the registered workers ordered by id.
func (s *Store) ListWorkers(ctx context.Context) ([]store.Worker, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, started_at, heartbeat_at FROM workers ORDER BY id`)
	if err != nil {
		return nil, wrap("list workers", err)
	}
	defer rows.Close()
	var out []store.Worker
	for rows.Next() {
		var (
			w           store.Worker
			started, hb int64
		)
		if err := rows.Scan(&w.ID, &started, &hb); err != nil {
			return nil, wrap("list workers", err)
		}
		w.StartedAt, w.Heartbeat = timeOf(started), timeOf(hb)
		out = append(out, w)
	}
	return out, wrap("list workers", rows.Err())
}

// CountClaimable returns the number of enabled users not needing re-auth.
func (s *Store) CountClaimable(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE enabled = 1 AND needs_reauth = 0`).Scan(&n)
	return n, wrap("count claimable", err)
}

// ClaimUsers leases up to Limit free users to WorkerID until Now+TTL. Free
// users are taken in the order they became free: a lapsed lease at its
// expiry, a user never leased (or released) at its creation.
func (s *Store) ClaimUsers(ctx context.Context, p *store.ClaimUsersParams) ([]store.User, error) {
	if p.WorkerID == "" {
		return nil, wrap("claim users", invalid("empty worker id"))
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	var users []store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := msOf(p.Now)
		rows, err := tx.QueryContext(ctx, `SELECT pk FROM users
			WHERE enabled = 1 AND needs_reauth = 0 AND (worker_id IS NULL OR lease_expires_at <= ?)
			ORDER BY COALESCE(lease_expires_at, created_at), id LIMIT ?`, now, p.Limit)
		if err != nil {
			return err
		}
		var pks []any
		for rows.Next() {
			var pk int64
			if err := rows.Scan(&pk); err != nil {
				rows.Close()
				return err
			}
			pks = append(pks, pk)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pks) == 0 {
			return err
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(pks)), ",") + ")"
		args := append([]any{p.WorkerID, msOf(p.Now.Add(p.TTL))}, pks...)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET worker_id = ?, lease_expires_at = ? WHERE pk IN `+in, args...); err != nil {
			return err
		}
		users, err = listUsers(ctx, tx, "u.pk IN "+in, pks)
		return err
	})
	if err != nil {
		return nil, wrap("claim users", err)
	}
	return users, nil
}

// RenewLeases extends the leases WorkerID still holds and releases users
// that became disabled or need re-auth.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) ([]store.User, error) {
	var users []store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET worker_id = NULL, lease_expires_at = NULL
			WHERE worker_id = ? AND (enabled = 0 OR needs_reauth = 1)`, p.WorkerID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET lease_expires_at = ? WHERE worker_id = ?`,
			msOf(p.Now.Add(p.TTL)), p.WorkerID); err != nil {
			return err
		}
		var err error
		users, err = listUsers(ctx, tx, "u.worker_id = ?", []any{p.WorkerID})
		return err
	})
	if err != nil {
		return nil, wrap("renew leases", err)
	}
	return users, nil
}

// ReleaseUsers frees the given users' leases held by WorkerID.
func (s *Store) ReleaseUsers(ctx context.Context, p *store.ReleaseUsersParams) error {
	if len(p.UserIDs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args := []any{p.WorkerID}
		for _, id := range p.UserIDs {
			args = append(args, id)
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET worker_id = NULL, lease_expires_at = NULL
			WHERE worker_id = ? AND id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(p.UserIDs)), ",")+`)`, args...)
		return err
	})
	return wrap("release users", err)
}
