package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// freeLease is the SET list that releases a lease. The user counts as
// unassigned since the lease was last taken or renewed: the last moment
// the holder is known to have been alive.
const freeLease = `worker_id = NULL, lease_expires_at = NULL, unassigned_since = coalesce(leased_at, unassigned_since)`

// RegisterWorker inserts or refreshes a worker row.
func (s *Store) RegisterWorker(ctx context.Context, p *store.RegisterWorkerParams) error {
	const op = "register worker"
	if p.ID == "" {
		return invalid(op, "empty worker id")
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO workers (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
		ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
		p.ID, ts(p.Now))
	return wrap(op, err)
}

// Heartbeat sets the worker's heartbeat to Now.
func (s *Store) Heartbeat(ctx context.Context, p *store.HeartbeatParams) error {
	const op = "heartbeat"
	tag, err := s.pool.Exec(ctx, `UPDATE workers SET heartbeat_at = $2 WHERE id = $1`, p.ID, ts(p.Now))
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op, "worker %q", p.ID)
	}
	return nil
}

// DeleteStaleWorkers removes workers whose heartbeat is before Before and
// frees their leases in the same transaction.
func (s *Store) DeleteStaleWorkers(ctx context.Context, p *store.DeleteStaleWorkersParams) ([]string, error) {
	const op = "delete stale workers"
	var ids []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM workers WHERE heartbeat_at < $1 RETURNING id`, ts(p.Before))
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET `+freeLease+` WHERE worker_id = ANY($1)`, ids)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteWorker removes one worker and frees its leases.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	const op = "delete worker"
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET `+freeLease+` WHERE worker_id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM workers WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, "worker %q", id)
		}
		return nil
	})
	return wrap(op, err)
}

// ListWorkers returns the registered workers ordered by id.
func (s *Store) ListWorkers(ctx context.Context) ([]store.Worker, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, started_at, heartbeat_at FROM workers ORDER BY id`)
	if err != nil {
		return nil, wrap("list workers", err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Worker, error) {
		var w store.Worker
		err := r.Scan(&w.ID, &w.StartedAt, &w.Heartbeat)
		w.StartedAt, w.Heartbeat = w.StartedAt.UTC(), w.Heartbeat.UTC()
		return w, err
	})
	if err != nil {
		return nil, wrap("list workers", err)
	}
	return ws, nil
}

// CountClaimable counts enabled users that do not need re-authorisation.
func (s *Store) CountClaimable(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE enabled AND NOT needs_reauth`).Scan(&n)
	return n, wrap("count claimable", err)
}

// ClaimUsers leases up to Limit free users to the worker. Rows another
// transaction is claiming are skipped (FOR UPDATE SKIP LOCKED), and a row
// claimed and committed meanwhile is re-checked against the WHERE clause
// before it is locked, so no user is ever given to two workers.
func (s *Store) ClaimUsers(ctx context.Context, p *store.ClaimUsersParams) ([]store.User, error) {
	const op = "claim users"
	if p.WorkerID == "" {
		return nil, invalid(op, "empty worker id")
	}
	if p.TTL <= 0 {
		return nil, invalid(op, "lease TTL %s <= 0", p.TTL)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	now := ts(p.Now)
	var users []store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH free AS (
				SELECT id FROM users
				WHERE enabled AND NOT needs_reauth AND (worker_id IS NULL OR lease_expires_at <= $2)
				ORDER BY CASE WHEN worker_id IS NULL THEN unassigned_since ELSE lease_expires_at END,
					created_at, id
				LIMIT $3
				FOR UPDATE SKIP LOCKED
			)
			UPDATE users u SET worker_id = $1, lease_expires_at = $4, leased_at = $2
			FROM free WHERE u.id = free.id
			RETURNING `+userColumnsU,
			p.WorkerID, now, p.Limit, ts(p.Now.Add(p.TTL)))
		if err != nil {
			return err
		}
		if users, err = collectUsers(rows); err != nil {
			return err
		}
		return loadTasks(ctx, tx, users)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	sortUsers(users)
	return users, nil
}

// RenewLeases extends the worker's leases and releases those of users that
// became disabled or need re-authorisation.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) ([]store.User, error) {
	const op = "renew leases"
	if p.TTL <= 0 {
		return nil, invalid(op, "lease TTL %s <= 0", p.TTL)
	}
	var users []store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET `+freeLease+`
			WHERE worker_id = $1 AND (NOT enabled OR needs_reauth)`, p.WorkerID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE users SET lease_expires_at = $3, leased_at = $2
			WHERE worker_id = $1
			RETURNING `+userColumns,
			p.WorkerID, ts(p.Now), ts(p.Now.Add(p.TTL)))
		if err != nil {
			return err
		}
		if users, err = collectUsers(rows); err != nil {
			return err
		}
		return loadTasks(ctx, tx, users)
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	sortUsers(users)
	return users, nil
}

// ReleaseUsers frees the named users' leases held by the worker.
func (s *Store) ReleaseUsers(ctx context.Context, p *store.ReleaseUsersParams) error {
	if len(p.UserIDs) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE users SET `+freeLease+` WHERE worker_id = $1 AND id = ANY($2)`,
		p.WorkerID, p.UserIDs)
	return wrap("release users", err)
}

func sortUsers(users []store.User) {
	slices.SortFunc(users, func(a, b store.User) int { return strings.Compare(a.ID, b.ID) })
}
