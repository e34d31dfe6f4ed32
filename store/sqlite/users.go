package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

const userColumns = `u.pk, u.id, u.account_id, u.display_name, u.enabled, u.mode, u.token, u.authorized_at,
	u.needs_reauth, u.worker_id, u.lease_expires_at, u.created_at, u.updated_at`

type scanner interface{ Scan(dest ...any) error }

// scanUser reads userColumns; it returns the row's pk too.
func scanUser(r scanner) (int64, store.User, error) {
	var (
		u                store.User
		pk               int64
		enabled, reauth  int
		mode             string
		authAt, leaseExp sql.NullInt64
		worker           sql.NullString
		created, updated int64
	)
	err := r.Scan(&pk, &u.ID, &u.AccountID, &u.DisplayName, &enabled, &mode, &u.Token, &authAt,
		&reauth, &worker, &leaseExp, &created, &updated)
	if err != nil {
		return 0, u, err
	}
	u.Enabled, u.NeedsReauth, u.Mode = enabled == 1, reauth == 1, store.Mode(mode)
	u.AuthorizedAt, u.CreatedAt, u.UpdatedAt = timeOfNull(authAt), timeOf(created), timeOf(updated)
	if worker.Valid {
		u.WorkerID, u.LeaseExpires = worker.String, timeOfNull(leaseExp)
	}
	return pk, u, nil
}

// loadTasks fills the Tasks of users keyed by pk.
func loadTasks(ctx context.Context, q queryer, users map[int64]*store.User, onePK int64) error {
	query := `SELECT user_pk, task, status, last_run_at, last_error, updated_at FROM user_tasks`
	var args []any
	if onePK != 0 {
		query += ` WHERE user_pk = ?`
		args = append(args, onePK)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pk           int64
			task, status string
			lastRun      sql.NullInt64
			lastErr      string
			updated      int64
		)
		if err := rows.Scan(&pk, &task, &status, &lastRun, &lastErr, &updated); err != nil {
			return err
		}
		u := users[pk]
		if u == nil {
			continue
		}
		if u.Tasks == nil {
			u.Tasks = map[store.Task]store.TaskState{}
		}
		u.Tasks[store.Task(task)] = store.TaskState{
			Status: store.TaskStatus(status), LastRunAt: timeOfNull(lastRun), LastError: lastErr, UpdatedAt: timeOf(updated),
		}
	}
	return rows.Err()
}

func getUser(ctx context.Context, q queryer, id string) (*store.User, error) {
	pk, u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", id)
	}
	if err != nil {
		return nil, err
	}
	if err := loadTasks(ctx, q, map[int64]*store.User{pk: &u}, pk); err != nil {
		return nil, err
	}
	return &u, nil
}

// userPK returns the pk of user id, or ErrNotFound.
func userPK(ctx context.Context, q queryer, id string) (int64, error) {
	var pk int64
	err := q.QueryRowContext(ctx, `SELECT pk FROM users WHERE id = ?`, id).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("user", id)
	}
	return pk, err
}

// UpsertUser creates or refreshes a user after a login.
func (s *Store) UpsertUser(ctx context.Context, p *store.UpsertUserParams) (*store.User, error) {
	if p.ID == "" {
		return nil, wrap("upsert user", invalid("empty user id"))
	}
	mode := p.Mode
	if mode == "" {
		mode = store.ModeDefault
	}
	if !mode.Valid() {
		return nil, wrap("upsert user", invalid("unknown mode %q", p.Mode))
	}
	var u *store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := msOf(p.Now)
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, account_id, display_name, enabled, mode, token, authorized_at, needs_reauth, created_at, updated_at)
			VALUES (?, ?, ?, 1, ?, ?, ?, 0, ?, ?)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, display_name = excluded.display_name,
				token = excluded.token, authorized_at = excluded.authorized_at, needs_reauth = 0, updated_at = excluded.updated_at`,
			p.ID, p.AccountID, p.DisplayName, string(mode), p.Token, nullMS(p.AuthorizedAt), now, now)
		if err != nil {
			return err
		}
		u, err = getUser(ctx, tx, p.ID)
		return err
	})
	return u, wrap("upsert user", err)
}

// GetUser returns ErrNotFound for an unknown id.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := getUser(ctx, s.read, id)
	return u, wrap("get user", err)
}

// ListUsers returns all users ordered by id.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	users, err := listUsers(ctx, s.read, "", nil)
	return users, wrap("list users", err)
}

// listUsers returns users matching where (a condition on u), ordered by id.
func listUsers(ctx context.Context, q queryer, where string, args []any) ([]store.User, error) {
	query := `SELECT ` + userColumns + ` FROM users u`
	if where != "" {
		query += ` WHERE ` + where
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY u.id`, args...)
	if err != nil {
		return nil, err
	}
	var (
		users []store.User
		pks   []int64
	)
	for rows.Next() {
		pk, u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		users = append(users, u)
		pks = append(pks, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byPK := make(map[int64]*store.User, len(users))
	for i := range users {
		byPK[pks[i]] = &users[i]
	}
	var one int64
	if len(pks) == 1 {
		one = pks[0]
	}
	if len(pks) > 0 {
		if err := loadTasks(ctx, q, byPK, one); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// UpdateUser changes the fields whose pointers are non-nil.
func (s *Store) UpdateUser(ctx context.Context, p *store.UpdateUserParams) (*store.User, error) {
	if p.Mode != nil && !p.Mode.Valid() {
		return nil, wrap("update user", invalid("unknown mode %q", *p.Mode))
	}
	b := psq.Update("users").Set("updated_at", msOf(p.Now)).Where("id = ?", p.ID)
	if p.Enabled != nil {
		b = b.Set("enabled", boolInt(*p.Enabled))
	}
	if p.Mode != nil {
		b = b.Set("mode", string(*p.Mode))
	}
	if p.NeedsReauth != nil {
		b = b.Set("needs_reauth", boolInt(*p.NeedsReauth))
	}
	if p.Token != nil {
		b = b.Set("token", p.Token)
	}
	if p.AuthorizedAt != nil {
		b = b.Set("authorized_at", nullMS(*p.AuthorizedAt))
	}
	query, args, err := b.ToSql()
	if err != nil {
		return nil, wrap("update user", err)
	}
	var u *store.User
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", p.ID)
		}
		u, err = getUser(ctx, tx, p.ID)
		return err
	})
	return u, wrap("update user", err)
}

// DeleteUser removes the user and everything that is theirs.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	defer s.observe("delete_user", time.Now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		pk, err := userPK(ctx, tx, id)
		if err != nil {
			return err
		}
		// Playlists only this user tracks go with the user.
		if _, err := tx.ExecContext(ctx, `DELETE FROM playlists WHERE pk IN (
				SELECT playlist_pk FROM user_playlists WHERE user_pk = ?
				EXCEPT SELECT playlist_pk FROM user_playlists WHERE user_pk <> ?)`, pk, pk); err != nil {
			return err
		}
		for _, table := range []string{"rollups", "rollup_counts", "rollup_days"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_pk = ?`, pk); err != nil {
				return err
			}
		}
		// The rest cascades: plays, imports, sessions, task states, links.
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE pk = ?`, pk)
		return err
	})
	return wrap("delete user", err)
}

var validTasks = map[store.Task]bool{store.TaskListening: true, store.TaskPlaylists: true, store.TaskSongIDs: true}

var validTaskStatus = map[store.TaskStatus]bool{
	store.TaskIdle: true, store.TaskRunning: true, store.TaskProcessing: true, store.TaskStopped: true, store.TaskError: true,
}

// SetTaskState records the state of one task of one user.
func (s *Store) SetTaskState(ctx context.Context, p *store.SetTaskStateParams) error {
	if !validTasks[p.Task] {
		return wrap("set task state", invalid("unknown task %q", p.Task))
	}
	if !validTaskStatus[p.Status] {
		return wrap("set task state", invalid("unknown task status %q", p.Status))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		pk, err := userPK(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_tasks (user_pk, task, status, last_run_at, last_error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_pk, task) DO UPDATE SET status = excluded.status,
				last_run_at = COALESCE(excluded.last_run_at, user_tasks.last_run_at),
				last_error = excluded.last_error, updated_at = excluded.updated_at`,
			pk, string(p.Task), string(p.Status), nullMS(p.LastRunAt), p.LastError, msOf(p.Now))
		return err
	})
	return wrap("set task state", err)
}
