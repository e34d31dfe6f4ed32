-- spotifyhist schema for SQLite. Times are INTEGER Unix milliseconds (UTC);
-- NULL stands for the zero time. Rows use integer surrogate keys (pk) so that
-- the plays table and the rollups stay small; the public ids are TEXT.

CREATE TABLE users (
    pk               INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    account_id       TEXT    NOT NULL DEFAULT '',
    display_name     TEXT    NOT NULL DEFAULT '',
    enabled          INTEGER NOT NULL DEFAULT 1,
    mode             TEXT    NOT NULL,
    token            BLOB,
    authorized_at    INTEGER,
    needs_reauth     INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX users_worker ON users (worker_id) WHERE worker_id IS NOT NULL;

CREATE TABLE user_tasks (
    user_pk     INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    task        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    last_run_at INTEGER,
    last_error  TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_pk, task)
) STRICT, WITHOUT ROWID;

CREATE TABLE workers (
    id           TEXT    PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE artists (
    pk   INTEGER PRIMARY KEY,
    id   TEXT    NOT NULL UNIQUE,
    name TEXT    NOT NULL
) STRICT;

CREATE TABLE albums (
    pk   INTEGER PRIMARY KEY,
    id   TEXT    NOT NULL UNIQUE,
    name TEXT    NOT NULL
) STRICT;

CREATE TABLE tracks (
    pk          INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    norm_name   TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    isrc        TEXT    NOT NULL DEFAULT '',
    is_local    INTEGER NOT NULL DEFAULT 0,
    linked      INTEGER NOT NULL DEFAULT 0,
    album_pk    INTEGER REFERENCES albums (pk)
) STRICT;

CREATE INDEX tracks_album ON tracks (album_pk);
CREATE INDEX tracks_norm_name ON tracks (norm_name) WHERE linked = 1;

CREATE TABLE track_artists (
    track_pk  INTEGER NOT NULL REFERENCES tracks (pk) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    artist_pk INTEGER NOT NULL REFERENCES artists (pk),
    PRIMARY KEY (track_pk, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX track_artists_artist ON track_artists (artist_pk);

CREATE TABLE imports (
    pk         INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    user_pk    INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    file_name  TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL,
    total      INTEGER NOT NULL DEFAULT 0,
    processed  INTEGER NOT NULL DEFAULT 0,
    imported   INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    excluded   TEXT    NOT NULL DEFAULT '{}', -- JSON object reason -> count
    error      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX imports_user ON imports (user_pk, digest, created_at);

-- One row per stream. The primary key is the uniqueness rule and the
-- clustered order of every per-user time range scan. import_pk is a
-- provenance tag, not ownership: imports and plays both go with their user.
CREATE TABLE plays (
    user_pk   INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    played_at INTEGER NOT NULL,
    track_pk  INTEGER NOT NULL REFERENCES tracks (pk),
    ms_played INTEGER NOT NULL DEFAULT 0,
    source    INTEGER NOT NULL, -- 1 history, 2 realtime, 3 import
    import_pk INTEGER,
    PRIMARY KEY (user_pk, played_at, track_pk)
) STRICT, WITHOUT ROWID;

-- (track_pk, user_pk, played_at): merges and a track's last play in a range.
CREATE INDEX plays_track ON plays (track_pk);

CREATE TABLE playlists (
    pk            INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    owner_id      TEXT    NOT NULL DEFAULT '',
    owner_name    TEXT    NOT NULL DEFAULT '',
    snapshot_id   TEXT    NOT NULL DEFAULT '',
    collaborative INTEGER NOT NULL DEFAULT 0,
    public        INTEGER, -- NULL when Spotify reports null
    track_count   INTEGER NOT NULL DEFAULT 0,
    scanned_at    INTEGER
) STRICT;

CREATE TABLE user_playlists (
    user_pk     INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    playlist_pk INTEGER NOT NULL REFERENCES playlists (pk) ON DELETE CASCADE,
    origin      TEXT    NOT NULL, -- owned | added
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (user_pk, playlist_pk)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_playlists_playlist ON user_playlists (playlist_pk);

CREATE TABLE playlist_tracks (
    playlist_pk INTEGER NOT NULL REFERENCES playlists (pk) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    track_pk    INTEGER NOT NULL REFERENCES tracks (pk),
    status      TEXT    NOT NULL,
    added_at    INTEGER,
    PRIMARY KEY (playlist_pk, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX playlist_tracks_track ON playlist_tracks (track_pk);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_pk    INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_pk);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Rollups, derived from plays and maintained in the same transaction as
-- every write that changes plays (InsertPlays, MergeTracks, DeleteUser) or
-- a played track's credits (UpsertTracks). They are caches, not ownership:
-- DeleteUser removes them explicitly, and they carry no foreign keys, which
-- would cost a lookup per upsert.
--
-- rollups: plays, time and last play per user, kind (1 track, 2 artist,
-- 3 album), period and item. period 0 is all time, 1..9999 a UTC year,
-- 100000 + year*12 + month-1 a UTC month.
CREATE TABLE rollups (
    user_pk INTEGER NOT NULL,
    kind    INTEGER NOT NULL,
    period  INTEGER NOT NULL,
    item    INTEGER NOT NULL,
    plays   INTEGER NOT NULL,
    ms      INTEGER NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (user_pk, kind, period, item)
) STRICT, WITHOUT ROWID;

-- The top item of a UTC year without sorting the year.
CREATE INDEX rollups_year_rank ON rollups (user_pk, kind, period, plays) WHERE period > 0 AND period < 100000;

-- rollup_counts: the number of rollups rows (distinct items) per user, kind
-- and period.
CREATE TABLE rollup_counts (
    user_pk INTEGER NOT NULL,
    kind    INTEGER NOT NULL,
    period  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (user_pk, kind, period)
) STRICT, WITHOUT ROWID;

-- rollup_days: plays and time per user and UTC day, with the same per
-- quarter hour of the day in slots (see quarters.go). Every real time zone
-- offset is a multiple of 15 minutes, so any zone's days, weeks, months,
-- years and hours are sums of whole quarters.
CREATE TABLE rollup_days (
    user_pk INTEGER NOT NULL,
    day     INTEGER NOT NULL, -- Unix day
    plays   INTEGER NOT NULL,
    ms      INTEGER NOT NULL,
    slots   BLOB    NOT NULL,
    PRIMARY KEY (user_pk, day)
) STRICT, WITHOUT ROWID;

-- Every rollup of one item, for recomputing it after a merge or a relink.
CREATE INDEX rollups_item ON rollups (kind, item);
