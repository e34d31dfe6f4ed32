package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotifyhist/spotifyhist/store"
)

// userColumns are the columns scanUser reads, in order.
const userColumns = `id, account_id, display_name, enabled, mode, token, authorized_at,
	needs_reauth, worker_id, lease_expires_at, created_at, updated_at`

// userColumnsU is userColumns qualified by the alias u.
const userColumnsU = `u.id, u.account_id, u.display_name, u.enabled, u.mode, u.token, u.authorized_at,
	u.needs_reauth, u.worker_id, u.lease_expires_at, u.created_at, u.updated_at`

func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u                    store.User
		mode                 string
		authAt, leaseExp     *time.Time
		workerID             *string
		createdAt, updatedAt time.Time
	)
	if err := row.Scan(&u.ID, &u.AccountID, &u.DisplayName, &u.Enabled, &mode, &u.Token, &authAt,
		&u.NeedsReauth, &workerID, &leaseExp, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	u.Mode = store.Mode(mode)
	u.AuthorizedAt = fromNull(authAt)
	u.LeaseExpires = fromNull(leaseExp)
	if workerID != nil {
		u.WorkerID = *workerID
	}
	u.CreatedAt = createdAt.UTC()
	u.UpdatedAt = updatedAt.UTC()
	return &u, nil
}

// collectUsers reads every row of rows as a user.
func collectUsers(rows pgx.Rows) ([]store.User, error) {
	defer rows.Close()
	var users []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, *u)
	}
	return users, rows.Err()
}

// loadTasks fills the Tasks of users.
func loadTasks(ctx context.Context, q querier, users []store.User) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]string, len(users))
	idx := make(map[string]int, len(users))
	for i := range users {
		ids[i] = users[i].ID
		idx[users[i].ID] = i
	}
	rows, err := q.Query(ctx, `SELECT user_id, task, status, last_run_at, last_error, updated_at
		FROM user_tasks WHERE user_id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			userID, task, status, lastErr string
			lastRun                       *time.Time
			updated                       time.Time
		)
		if err := rows.Scan(&userID, &task, &status, &lastRun, &lastErr, &updated); err != nil {
			return err
		}
		u := &users[idx[userID]]
		if u.Tasks == nil {
			u.Tasks = map[store.Task]store.TaskState{}
		}
		u.Tasks[store.Task(task)] = store.TaskState{
			Status:    store.TaskStatus(status),
			LastRunAt: fromNull(lastRun),
			LastError: lastErr,
			UpdatedAt: updated.UTC(),
		}
	}
	return rows.Err()
}

// getUser reads one user with its tasks.
func getUser(ctx context.Context, q querier, id string) (*store.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	one := []store.User{*u}
	if err := loadTasks(ctx, q, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// UpsertUser creates the user or refreshes an existing one after a login.
func (s *Store) UpsertUser(ctx context.Context, p *store.UpsertUserParams) (*store.User, error) {
	const op = "upsert user"
	if p.ID == "" {
		return nil, invalid(op, "empty user id")
	}
	mode := p.Mode
	if mode == "" {
		mode = store.ModeDefault
	}
	if !mode.Valid() {
		return nil, invalid(op, "unknown mode %q", p.Mode)
	}
	now := ts(p.Now)
	var u *store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO users (id, account_id, display_name, mode, token, authorized_at,
				unassigned_since, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)
			ON CONFLICT (id) DO UPDATE SET
				account_id = excluded.account_id,
				display_name = excluded.display_name,
				token = excluded.token,
				authorized_at = excluded.authorized_at,
				needs_reauth = false,
				updated_at = excluded.updated_at`,
			p.ID, p.AccountID, p.DisplayName, string(mode), p.Token, nullTS(p.AuthorizedAt), now); err != nil {
			return err
		}
		var err error
		u, err = getUser(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return u, nil
}

// GetUser returns the user with its task states.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	var u *store.User
	err := s.read(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = getUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, wrap("get user", err)
	}
	return u, nil
}

// ListUsers returns every user ordered by id.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	var users []store.User
	err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
		if err != nil {
			return err
		}
		if users, err = collectUsers(rows); err != nil {
			return err
		}
		return loadTasks(ctx, tx, users)
	})
	if err != nil {
		return nil, wrap("list users", err)
	}
	return users, nil
}

// UpdateUser changes the fields whose pointers are non-nil.
func (s *Store) UpdateUser(ctx context.Context, p *store.UpdateUserParams) (*store.User, error) {
	const op = "update user"
	if p.Mode != nil && !p.Mode.Valid() {
		return nil, invalid(op, "unknown mode %q", *p.Mode)
	}
	var mode *string
	if p.Mode != nil {
		m := string(*p.Mode)
		mode = &m
	}
	var authAt *time.Time
	if p.AuthorizedAt != nil {
		authAt = nullTS(*p.AuthorizedAt)
	}
	var u *store.User
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE users SET
				enabled = coalesce($2, enabled),
				mode = coalesce($3, mode),
				needs_reauth = coalesce($4, needs_reauth),
				token = CASE WHEN $5::bytea IS NULL THEN token ELSE $5 END,
				authorized_at = CASE WHEN $6 THEN $7 ELSE authorized_at END,
				updated_at = $8
			WHERE id = $1`,
			p.ID, p.Enabled, mode, p.NeedsReauth, p.Token, p.AuthorizedAt != nil, authAt, ts(p.Now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound(op, "user %q", p.ID)
		}
		u, err = getUser(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return u, nil
}

// DeleteUser removes the user and everything that is theirs: plays and
// rollups explicitly, task states, imports, sessions and playlist links
// through ON DELETE CASCADE, and playlists no other user tracks with their
// rows.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var playlists []string
		rows, err := tx.Query(ctx, `SELECT playlist_id FROM user_playlists WHERE user_id = $1`, id)
		if err != nil {
			return err
		}
		playlists, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		// The lock waits for InsertPlays calls holding a key share lock on
		// the user, and makes later ones find no user.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound(op, "user %q", id)
			}
			return err
		}
		// Plays and their rollups have no foreign key to users.
		for _, table := range [...]string{"plays", "user_tracks", "user_artists", "user_albums",
			"user_year_tracks", "user_year_artists", "user_year_tops", "user_totals", "user_days"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
			return err
		}
		return deleteOrphanPlaylists(ctx, tx, playlists)
	})
	return wrap(op, err)
}

// SetTaskState records the state of one task of one user.
func (s *Store) SetTaskState(ctx context.Context, p *store.SetTaskStateParams) error {
	const op = "set task state"
	switch p.Task {
	case store.TaskListening, store.TaskPlaylists, store.TaskSongIDs:
	default:
		return invalid(op, "unknown task %q", p.Task)
	}
	switch p.Status {
	case store.TaskIdle, store.TaskRunning, store.TaskProcessing, store.TaskStopped, store.TaskError:
	default:
		return invalid(op, "unknown task status %q", p.Status)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO user_tasks (user_id, task, status, last_run_at, last_error, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, task) DO UPDATE SET
			status = excluded.status,
			last_run_at = coalesce(excluded.last_run_at, user_tasks.last_run_at),
			last_error = excluded.last_error,
			updated_at = excluded.updated_at`,
		p.UserID, string(p.Task), string(p.Status), nullTS(p.LastRunAt), p.LastError, ts(p.Now))
	return wrap(op, err)
}
