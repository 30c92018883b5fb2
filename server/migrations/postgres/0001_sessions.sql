-- Schema version 1 (PostgreSQL). Ids are BYTEA because a session id may hold U+0000, which TEXT
-- cannot; names, tags and the agent name are JSON text in `labels` for the same reason.

-- Each owner's write clock: the last write's time and count, so that `updated_at` never goes
-- backwards and a later write sorts first even within a millisecond. Writes lock this row first.
CREATE TABLE owners (
    owner    TEXT PRIMARY KEY,
    clock_ms BIGINT NOT NULL,
    seq      BIGINT NOT NULL
);

-- One row per session: its metadata (what `list` reads) and its agent state (last, kept out of line).
CREATE TABLE sessions (
    owner         TEXT   NOT NULL,
    id            BYTEA  NOT NULL,
    seq           BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    turn_count    BIGINT NOT NULL,
    total_tokens  BIGINT NOT NULL,
    message_count BIGINT NOT NULL,
    labels        TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    PRIMARY KEY (owner, id)
);
CREATE INDEX sessions_newest_first ON sessions (owner, seq);

-- One row per message, as JSON text, so an append inserts rows and never rewrites the history.
CREATE TABLE messages (
    owner      TEXT   NOT NULL,
    session_id BYTEA  NOT NULL,
    position   BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (owner, session_id, position)
);

-- API tokens, kept as SHA-256 hashes: the token itself is shown once, by `token create`.
CREATE TABLE tokens (
    hash       TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
