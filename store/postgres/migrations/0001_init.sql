-- spotifyhist schema, version 1.
--
-- Times are timestamptz truncated to the millisecond by the application,
-- which also supplies every "now" the store compares: results never depend
-- on the database clock.
-- Tables named user_* after "plays" are rollups derived from plays; they are
-- written in the same transaction as every change to plays (InsertPlays,
-- MergeTracks, DeleteUser through ON DELETE CASCADE) and never drift.

CREATE TABLE users (
    id               text PRIMARY KEY,
    account_id       text NOT NULL DEFAULT '',
    display_name     text NOT NULL DEFAULT '',
    enabled          boolean NOT NULL DEFAULT true,
    mode             text NOT NULL CHECK (mode IN ('history', 'realtime', 'hybrid', 'adaptive')),
    token            bytea,
    authorized_at    timestamptz,
    needs_reauth     boolean NOT NULL DEFAULT false,
    -- Lease: free when worker_id IS NULL or lease_expires_at <= now.
    worker_id        text,
    lease_expires_at timestamptz,
    -- When the last lease was taken or renewed, and since when the user has
    -- been free (creation, or the last renewal of a released lease): claims
    -- go to the longest-unassigned users first.
    leased_at        timestamptz,
    unassigned_since timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX users_worker_idx ON users (worker_id) WHERE worker_id IS NOT NULL;

CREATE TABLE user_tasks (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task        text NOT NULL CHECK (task IN ('listening', 'playlists', 'song_ids')),
    status      text NOT NULL CHECK (status IN ('idle', 'running', 'processing', 'stopped', 'error')),
    last_run_at timestamptz,
    last_error  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, task)
);

CREATE TABLE workers (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

CREATE TABLE artists (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE albums (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE tracks (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    norm_name   text NOT NULL, -- store.NormalizeName(name), for merge candidates
    duration_ms integer NOT NULL DEFAULT 0,
    isrc        text NOT NULL DEFAULT '',
    is_local    boolean NOT NULL DEFAULT false,
    linked      boolean NOT NULL,
    album_id    text REFERENCES albums (id), -- NULL when the track has no album
    -- Hash of the stored metadata (name, duration, ISRC, flags, album and
    -- artist ids in order): a linked upsert skips rows that did not change.
    meta_hash   bigint NOT NULL
);

CREATE INDEX tracks_album_idx ON tracks (album_id);
CREATE INDEX tracks_unlinked_idx ON tracks (id) WHERE NOT linked AND NOT is_local;
CREATE INDEX tracks_norm_name_idx ON tracks (norm_name) WHERE linked;

CREATE TABLE track_artists (
    track_id  text NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    artist_id text NOT NULL REFERENCES artists (id),
    PRIMARY KEY (track_id, position),
    UNIQUE (track_id, artist_id)
);

CREATE INDEX track_artists_artist_idx ON track_artists (artist_id, track_id);

CREATE TABLE imports (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     text NOT NULL,
    file_name  text NOT NULL DEFAULT '',
    state      text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    total      integer NOT NULL DEFAULT 0,
    processed  integer NOT NULL DEFAULT 0,
    imported   integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    excluded   jsonb NOT NULL DEFAULT '{}',
    error      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX imports_user_idx ON imports (user_id, digest, created_at);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE playlists (
    id            text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    owner_id      text NOT NULL DEFAULT '',
    owner_name    text NOT NULL DEFAULT '',
    snapshot_id   text NOT NULL DEFAULT '', -- of the stored rows, set by ReplacePlaylistTracks only
    collaborative boolean NOT NULL DEFAULT false,
    public        boolean,
    track_count   integer NOT NULL DEFAULT 0,
    scanned_at    timestamptz
);

-- A link is owned (returned by /me/playlists), added by hand, or both; it
-- reads as "owned" when owned. It is deleted when it is neither.
CREATE TABLE user_playlists (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id text NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    owned       boolean NOT NULL,
    added       boolean NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, playlist_id),
    CHECK (owned OR added)
);

CREATE INDEX user_playlists_playlist_idx ON user_playlists (playlist_id);

CREATE TABLE playlist_tracks (
    playlist_id text NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    track_id    text NOT NULL REFERENCES tracks (id),
    status      text NOT NULL CHECK (status IN ('playable', 'unplayable', 'local')),
    added_at    timestamptz,
    PRIMARY KEY (playlist_id, position)
);

CREATE INDEX playlist_tracks_track_idx ON playlist_tracks (track_id);

CREATE TABLE plays (
    user_id   text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    played_at timestamptz NOT NULL, -- UTC, millisecond precision, end of the stream
    track_id  text NOT NULL REFERENCES tracks (id),
    ms_played integer NOT NULL DEFAULT 0,
    source    text NOT NULL CHECK (source IN ('history', 'realtime', 'import')),
    import_id text,
    PRIMARY KEY (user_id, played_at, track_id)
);

CREATE INDEX plays_track_idx ON plays (track_id, user_id, played_at);
CREATE INDEX plays_played_at_idx ON plays (played_at);

-- Per (user, track): all-time totals. Top and Totals over all time read it,
-- and ListPlaylistTracks takes play counts and last plays from it.
CREATE TABLE user_tracks (
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    track_id     text NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    plays        integer NOT NULL,
    ms_played    bigint NOT NULL,
    first_played timestamptz NOT NULL,
    last_played  timestamptz NOT NULL,
    PRIMARY KEY (user_id, track_id)
);

CREATE INDEX user_tracks_track_idx ON user_tracks (track_id);
CREATE INDEX user_tracks_plays_idx ON user_tracks (user_id, plays DESC, track_id);
CREATE INDEX user_tracks_ms_idx ON user_tracks (user_id, ms_played DESC, track_id);

-- Per (user, UTC day): plays and time listened, with running totals by
-- quarter-hour. cum_plays[i] counts the day's plays before minute 15*i
-- (i = 1..96; cum_plays[96] = plays). Every real time zone offset is a
-- multiple of 15 minutes, so local days and hours in any zone are exact
-- differences of these running totals.
CREATE TABLE user_days (
    user_id   text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day       integer NOT NULL, -- days since 1970-01-01 UTC
    plays     integer NOT NULL,
    ms_played bigint NOT NULL,
    cum_plays integer[] NOT NULL,
    cum_ms    bigint[] NOT NULL,
    PRIMARY KEY (user_id, day)
);

CREATE INDEX user_days_day_idx ON user_days (day);
