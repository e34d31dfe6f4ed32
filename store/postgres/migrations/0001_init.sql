-- spotifyhist schema, version 1.
--
-- Times are timestamptz truncated to the millisecond by the application,
-- which also supplies every "now" the store compares: results never depend
-- on the database clock.
-- The tables after "plays" are rollups derived from it; they are written in
-- the same transaction as every change to plays (InsertPlays, MergeTracks,
-- DeleteUser) and never drift.

CREATE TABLE users (
    id               text COLLATE "C" PRIMARY KEY,
    account_id       text COLLATE "C" NOT NULL DEFAULT '',
    display_name     text NOT NULL DEFAULT '',
    enabled          boolean NOT NULL DEFAULT true,
    mode             text NOT NULL CHECK (mode IN ('history', 'realtime', 'hybrid', 'adaptive')),
    token            bytea,
    authorized_at    timestamptz,
    needs_reauth     boolean NOT NULL DEFAULT false,
    -- Lease: free when worker_id IS NULL or lease_expires_at <= now.
    worker_id        text COLLATE "C",
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
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task        text NOT NULL CHECK (task IN ('listening', 'playlists', 'song_ids')),
    status      text NOT NULL CHECK (status IN ('idle', 'running', 'processing', 'stopped', 'error')),
    last_run_at timestamptz,
    last_error  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, task)
);

CREATE TABLE workers (
    id           text COLLATE "C" PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

CREATE TABLE artists (
    id   text COLLATE "C" PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE albums (
    id   text COLLATE "C" PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE tracks (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    norm_name   text COLLATE "C" NOT NULL, -- store.NormalizeName(name), for merge candidates
    duration_ms integer NOT NULL DEFAULT 0,
    isrc        text NOT NULL DEFAULT '',
    is_local    boolean NOT NULL DEFAULT false,
    linked      boolean NOT NULL,
    album_id    text COLLATE "C" REFERENCES albums (id), -- NULL when the track has no album
    -- Hash of the stored metadata (name, duration, ISRC, flags, album and
    -- artist ids in order): a linked upsert skips rows that did not change.
    meta_hash   bigint NOT NULL
);

CREATE INDEX tracks_album_idx ON tracks (album_id);
CREATE INDEX tracks_unlinked_idx ON tracks (id) WHERE NOT linked AND NOT is_local;
CREATE INDEX tracks_norm_name_idx ON tracks (norm_name) WHERE linked;

CREATE TABLE track_artists (
    track_id  text COLLATE "C" NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    artist_id text COLLATE "C" NOT NULL, -- upserted before its tracks (no key check on this hot path)
    PRIMARY KEY (track_id, position) -- an artist appears once per track (deduplicated on write)
);

CREATE INDEX track_artists_artist_idx ON track_artists (artist_id, track_id);

CREATE TABLE imports (
    id         text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
    id         text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE playlists (
    id            text COLLATE "C" PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    owner_id      text COLLATE "C" NOT NULL DEFAULT '',
    owner_name    text NOT NULL DEFAULT '',
    snapshot_id   text COLLATE "C" NOT NULL DEFAULT '', -- of the stored rows, set by ReplacePlaylistTracks only
    collaborative boolean NOT NULL DEFAULT false,
    public        boolean,
    track_count   integer NOT NULL DEFAULT 0,
    scanned_at    timestamptz
);

-- A link is owned (returned by /me/playlists), added by hand, or both; it
-- reads as "owned" when owned. It is deleted when it is neither.
CREATE TABLE user_playlists (
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    playlist_id text COLLATE "C" NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    owned       boolean NOT NULL,
    added       boolean NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, playlist_id),
    CHECK (owned OR added)
);

CREATE INDEX user_playlists_playlist_idx ON user_playlists (playlist_id);

CREATE TABLE playlist_tracks (
    playlist_id text COLLATE "C" NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    track_id    text COLLATE "C" NOT NULL REFERENCES tracks (id),
    status      text NOT NULL CHECK (status IN ('playable', 'unplayable', 'local')),
    added_at    timestamptz,
    PRIMARY KEY (playlist_id, position)
);

CREATE INDEX playlist_tracks_track_idx ON playlist_tracks (track_id);

-- plays and the rollups after it carry no foreign keys: they are written
-- tens of thousands of rows at a time, and per-row key checks would cost
-- more than the inserts. The code keeps them consistent instead: plays are
-- inserted in the transaction that upserts their tracks and holds a key
-- share lock on their user; DeleteUser and MergeTracks remove or move the
-- rows of the user or tracks they delete.
CREATE TABLE plays (
    user_id   text COLLATE "C" NOT NULL,
    played_at timestamptz NOT NULL, -- UTC, millisecond precision, end of the stream
    track_id  text COLLATE "C" NOT NULL,
    ms_played integer NOT NULL DEFAULT 0,
    source    text NOT NULL CHECK (source IN ('history', 'realtime', 'import')),
    import_id text COLLATE "C",
    PRIMARY KEY (user_id, played_at, track_id)
);

CREATE INDEX plays_track_idx ON plays (track_id, user_id, played_at);

-- Rollups. "years" is a bit set of the UTC years with plays: bit y-1990
-- for y in 1990..2053 (plays outside that span are counted everywhere but
-- in the bit sets, and queries touching them take a slower path).

-- Per (user, track), (user, artist) and (user, album): all-time totals.
-- An artist is credited once per play for every artist of the track.
CREATE TABLE user_tracks (
    user_id      text COLLATE "C" NOT NULL,
    track_id     text COLLATE "C" NOT NULL,
    plays        integer NOT NULL,
    ms_played    bigint NOT NULL,
    first_played timestamptz NOT NULL,
    last_played  timestamptz NOT NULL,
    years        bigint NOT NULL,
    PRIMARY KEY (user_id, track_id)
) WITH (fillfactor = 80);

CREATE INDEX user_tracks_track_idx ON user_tracks (track_id);

CREATE TABLE user_artists (
    user_id     text COLLATE "C" NOT NULL,
    artist_id   text COLLATE "C" NOT NULL,
    plays       integer NOT NULL,
    ms_played   bigint NOT NULL,
    last_played timestamptz NOT NULL,
    years       bigint NOT NULL,
    PRIMARY KEY (user_id, artist_id)
) WITH (fillfactor = 80);

CREATE INDEX user_artists_artist_idx ON user_artists (artist_id);

CREATE TABLE user_albums (
    user_id     text COLLATE "C" NOT NULL,
    album_id    text COLLATE "C" NOT NULL,
    plays       integer NOT NULL,
    ms_played   bigint NOT NULL,
    last_played timestamptz NOT NULL,
    years       bigint NOT NULL,
    PRIMARY KEY (user_id, album_id)
) WITH (fillfactor = 80);

CREATE INDEX user_albums_album_idx ON user_albums (album_id);

-- Per (user, UTC year, track) and (user, UTC year, artist), with the same
-- per UTC month (months[m] and months_ms[m] for m = 1..12), so that a range
-- that cuts a year is read from whole months and at most half a month of
-- plays at each edge.
CREATE TABLE user_year_tracks (
    user_id     text COLLATE "C" NOT NULL,
    year        smallint NOT NULL,
    track_id    text COLLATE "C" NOT NULL,
    plays       integer NOT NULL,
    ms_played   bigint NOT NULL,
    last_played timestamptz NOT NULL,
    months      integer[] NOT NULL,
    months_ms   bigint[] NOT NULL,
    PRIMARY KEY (user_id, year, track_id)
) WITH (fillfactor = 80);

CREATE TABLE user_year_artists (
    user_id     text COLLATE "C" NOT NULL,
    year        smallint NOT NULL,
    artist_id   text COLLATE "C" NOT NULL,
    plays       integer NOT NULL,
    ms_played   bigint NOT NULL,
    last_played timestamptz NOT NULL,
    months      integer[] NOT NULL,
    months_ms   bigint[] NOT NULL,
    PRIMARY KEY (user_id, year, artist_id)
) WITH (fillfactor = 80);

-- The most played tracks (kind 't') and artists (kind 'a') of each user
-- and UTC year, best first (more plays, then the smaller id): the first
-- eight, so that a local year can skip those the hours it does not share
-- with the UTC year touch; and the number of items with plays that year.
CREATE TABLE user_year_tops (
    user_id text COLLATE "C" NOT NULL,
    year    smallint NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('t', 'a')),
    items   integer NOT NULL,
    ids     text[] COLLATE "C" NOT NULL,
    plays   integer[] NOT NULL,
    PRIMARY KEY (user_id, year, kind)
);

-- Per user: all-time plays and time listened, and the number of tracks,
-- artists and albums played.
CREATE TABLE user_totals (
    user_id   text COLLATE "C" PRIMARY KEY,
    plays     bigint NOT NULL,
    ms_played bigint NOT NULL,
    tracks    integer NOT NULL,
    artists   integer NOT NULL,
    albums    integer NOT NULL
);

-- Per (user, UTC day): plays and time listened, with running totals by
-- quarter-hour. cum_plays[i] counts the day's plays before minute 15*i
-- (i = 1..96; cum_plays[96] = plays). Every real time zone offset is a
-- multiple of 15 minutes, so local days and hours in any zone are exact
-- differences of these running totals.
CREATE TABLE user_days (
    user_id   text COLLATE "C" NOT NULL,
    day       integer NOT NULL, -- days since 1970-01-01 UTC
    plays     integer NOT NULL,
    ms_played bigint NOT NULL,
    cum_plays integer[] NOT NULL,
    cum_ms    bigint[] NOT NULL,
    PRIMARY KEY (user_id, day)
) WITH (fillfactor = 80);

CREATE INDEX user_days_day_idx ON user_days (day);
