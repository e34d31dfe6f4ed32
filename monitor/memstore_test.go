package monitor

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/spotifyhist/spotifyhist/store"
)

// memStore is an in-memory implementation of the parts of the storage
// contract the monitor core uses, with the contract's lease semantics. It
// lets monitor tests run inside testing/synctest bubbles. Methods the core
// does not use panic (through the nil embedded interface).
type memStore struct {
	Store // nil: unused methods panic

	mu      sync.Mutex
	workers map[string]*store.Worker
	users   map[string]*store.User
	plays   map[string][]store.PlayWithTrack // by user, unordered
	keys    map[playKey]bool
	tracks  map[string]store.Track
}

type playKey struct {
	user  string
	at    int64
	track string
}

func newMemStore() *memStore {
	return &memStore{
		workers: map[string]*store.Worker{},
		users:   map[string]*store.User{},
		plays:   map[string][]store.PlayWithTrack{},
		keys:    map[playKey]bool{},
		tracks:  map[string]store.Track{},
	}
}

func cloneUser(u *store.User) store.User {
	c := *u
	c.Token = slices.Clone(u.Token)
	c.Tasks = make(map[store.Task]store.TaskState, len(u.Tasks))
	for k, v := range u.Tasks {
		c.Tasks[k] = v
	}
	return c
}

func (s *memStore) Ping(context.Context) error { return nil }

func (s *memStore) RegisterWorker(_ context.Context, p *store.RegisterWorkerParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workers[p.ID] = &store.Worker{ID: p.ID, StartedAt: p.Now.UTC(), Heartbeat: p.Now.UTC()}
	return nil
}

func (s *memStore) Heartbeat(_ context.Context, p *store.HeartbeatParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workers[p.ID]
	if !ok {
		return store.ErrNotFound
	}
	w.Heartbeat = p.Now.UTC()
	return nil
}

func (s *memStore) freeLocked(workerID string) {
	for _, u := range s.users {
		if u.WorkerID == workerID {
			u.WorkerID, u.LeaseExpires = "", time.Time{}
		}
	}
}

func (s *memStore) DeleteStaleWorkers(_ context.Context, p *store.DeleteStaleWorkersParams) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, w := range s.workers {
		if w.Heartbeat.Before(p.Before) {
			delete(s.workers, id)
			s.freeLocked(id)
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *memStore) DeleteWorker(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.workers[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.workers, id)
	s.freeLocked(id)
	return nil
}

func (s *memStore) ListWorkers(context.Context) ([]store.Worker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Worker, 0, len(s.workers))
	for _, w := range s.workers {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b store.Worker) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func claimable(u *store.User) bool { return u.Enabled && !u.NeedsReauth }

func (s *memStore) CountClaimable(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		if claimable(u) {
			n++
		}
	}
	return n, nil
}

func (s *memStore) sortedUsersLocked() []*store.User {
	out := make([]*store.User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *store.User) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *memStore) ClaimUsers(_ context.Context, p *store.ClaimUsersParams) ([]store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.User
	for _, u := range s.sortedUsersLocked() {
		if len(out) >= p.Limit {
			break
		}
		free := u.WorkerID == "" || !u.LeaseExpires.After(p.Now)
		if !claimable(u) || !free {
			continue
		}
		u.WorkerID, u.LeaseExpires = p.WorkerID, p.Now.Add(p.TTL).UTC()
		out = append(out, cloneUser(u))
	}
	return out, nil
}

func (s *memStore) RenewLeases(_ context.Context, p *store.RenewLeasesParams) ([]store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.User
	for _, u := range s.sortedUsersLocked() {
		if u.WorkerID != p.WorkerID {
			continue
		}
		if !claimable(u) {
			u.WorkerID, u.LeaseExpires = "", time.Time{}
			continue
		}
		u.LeaseExpires = p.Now.Add(p.TTL).UTC()
		out = append(out, cloneUser(u))
	}
	return out, nil
}

func (s *memStore) ReleaseUsers(_ context.Context, p *store.ReleaseUsersParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range p.UserIDs {
		if u, ok := s.users[id]; ok && u.WorkerID == p.WorkerID {
			u.WorkerID, u.LeaseExpires = "", time.Time{}
		}
	}
	return nil
}

func (s *memStore) UpsertUser(_ context.Context, p *store.UpsertUserParams) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[p.ID]
	if !ok {
		mode := p.Mode
		if mode == "" {
			mode = store.ModeDefault
		}
		u = &store.User{ID: p.ID, Enabled: true, Mode: mode, CreatedAt: p.Now, Tasks: map[store.Task]store.TaskState{}}
		s.users[p.ID] = u
	}
	u.AccountID, u.DisplayName, u.Token, u.AuthorizedAt = p.AccountID, p.DisplayName, slices.Clone(p.Token), p.AuthorizedAt
	u.NeedsReauth = false
	u.UpdatedAt = p.Now
	c := cloneUser(u)
	return &c, nil
}

func (s *memStore) GetUser(_ context.Context, id string) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := cloneUser(u)
	return &c, nil
}

func (s *memStore) ListUsers(context.Context) ([]store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.User
	for _, u := range s.sortedUsersLocked() {
		out = append(out, cloneUser(u))
	}
	return out, nil
}

func (s *memStore) UpdateUser(_ context.Context, p *store.UpdateUserParams) (*store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[p.ID]
	if !ok {
		return nil, store.ErrNotFound
	}
	if p.Mode != nil && !p.Mode.Valid() {
		return nil, store.ErrInvalid
	}
	if p.Enabled != nil {
		u.Enabled = *p.Enabled
	}
	if p.Mode != nil {
		u.Mode = *p.Mode
	}
	if p.NeedsReauth != nil {
		u.NeedsReauth = *p.NeedsReauth
	}
	if p.Token != nil {
		u.Token = slices.Clone(p.Token)
	}
	if p.AuthorizedAt != nil {
		u.AuthorizedAt = *p.AuthorizedAt
	}
	u.UpdatedAt = p.Now
	c := cloneUser(u)
	return &c, nil
}

func (s *memStore) SetTaskState(_ context.Context, p *store.SetTaskStateParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[p.UserID]
	if !ok {
		return store.ErrNotFound
	}
	st := u.Tasks[p.Task]
	st.Status, st.LastError, st.UpdatedAt = p.Status, p.LastError, p.Now
	if !p.LastRunAt.IsZero() {
		st.LastRunAt = p.LastRunAt
	}
	u.Tasks[p.Task] = st
	return nil
}

func (s *memStore) InsertPlays(_ context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[p.UserID]; !ok {
		return nil, store.ErrNotFound
	}
	res := &store.InsertPlaysResult{}
	for _, in := range p.Plays {
		if in.Track.ID == "" || !in.Source.Valid() {
			return nil, errors.Join(store.ErrInvalid, errors.New("bad play"))
		}
		at := in.PlayedAt.UTC().Truncate(time.Millisecond)
		k := playKey{p.UserID, at.UnixMilli(), in.Track.ID}
		if s.keys[k] {
			res.Duplicates++
			continue
		}
		s.keys[k] = true
		s.tracks[in.Track.ID] = in.Track
		s.plays[p.UserID] = append(s.plays[p.UserID], store.PlayWithTrack{
			Play:  store.Play{UserID: p.UserID, TrackID: in.Track.ID, PlayedAt: at, MSPlayed: in.MSPlayed, Source: in.Source},
			Track: in.Track,
		})
		res.Inserted++
	}
	return res, nil
}

func (s *memStore) ListPlays(_ context.Context, p *store.ListPlaysParams) ([]store.PlayWithTrack, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.PlayWithTrack
	for _, pl := range s.plays[p.UserID] {
		if (!p.From.IsZero() && pl.PlayedAt.Before(p.From)) || (!p.To.IsZero() && !pl.PlayedAt.Before(p.To)) {
			continue
		}
		out = append(out, pl)
	}
	slices.SortStableFunc(out, func(a, b store.PlayWithTrack) int {
		if c := a.PlayedAt.Compare(b.PlayedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TrackID, b.TrackID)
	})
	return out, nil
}

func (s *memStore) LatestPlay(_ context.Context, userID string, source store.Source) (*store.Play, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *store.Play
	for i := range s.plays[userID] {
		p := &s.plays[userID][i].Play
		if source != "" && p.Source != source {
			continue
		}
		if best == nil || p.PlayedAt.After(best.PlayedAt) {
			best = p
		}
	}
	if best == nil {
		return nil, store.ErrNotFound
	}
	c := *best
	return &c, nil
}

// faultStore wraps a Store and lets a test fail or intercept calls by
// operation name.
type faultStore struct {
	Store
	// hook is called before each intercepted call; a non-nil error is
	// returned instead of calling the wrapped store.
	hook func(op, userID string) error
	// onTaskState sees every task state written.
	onTaskState func(p *store.SetTaskStateParams)
}

func (f *faultStore) check(op, userID string) error {
	if f.hook == nil {
		return nil
	}
	return f.hook(op, userID)
}

func (f *faultStore) Ping(ctx context.Context) error {
	if err := f.check("Ping", ""); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}

func (f *faultStore) RegisterWorker(ctx context.Context, p *store.RegisterWorkerParams) error {
	if err := f.check("RegisterWorker", ""); err != nil {
		return err
	}
	return f.Store.RegisterWorker(ctx, p)
}

func (f *faultStore) Heartbeat(ctx context.Context, p *store.HeartbeatParams) error {
	if err := f.check("Heartbeat", ""); err != nil {
		return err
	}
	return f.Store.Heartbeat(ctx, p)
}

func (f *faultStore) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) ([]store.User, error) {
	if err := f.check("RenewLeases", ""); err != nil {
		return nil, err
	}
	return f.Store.RenewLeases(ctx, p)
}

func (f *faultStore) ClaimUsers(ctx context.Context, p *store.ClaimUsersParams) ([]store.User, error) {
	if err := f.check("ClaimUsers", ""); err != nil {
		return nil, err
	}
	return f.Store.ClaimUsers(ctx, p)
}

func (f *faultStore) InsertPlays(ctx context.Context, p *store.InsertPlaysParams) (*store.InsertPlaysResult, error) {
	if err := f.check("InsertPlays", p.UserID); err != nil {
		return nil, err
	}
	return f.Store.InsertPlays(ctx, p)
}

func (f *faultStore) LatestPlay(ctx context.Context, userID string, source store.Source) (*store.Play, error) {
	if err := f.check("LatestPlay", userID); err != nil {
		return nil, err
	}
	return f.Store.LatestPlay(ctx, userID, source)
}

func (f *faultStore) SetTaskState(ctx context.Context, p *store.SetTaskStateParams) error {
	if err := f.check("SetTaskState", p.UserID); err != nil {
		return err
	}
	if f.onTaskState != nil {
		f.onTaskState(p)
	}
	return f.Store.SetTaskState(ctx, p)
}
