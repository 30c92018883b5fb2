-- Schema version 2 (postgres): what devices sync from. Same tables on both backends.

-- Every committed write of an owner, in order (its seq is the write's stamp, so also the new
-- version of the session it wrote): what a device pulls since its cursor. `prev` is the
-- session's version before the write (NULL if it did not exist), `kind` one of put, patch, meta,
-- delete, `body` the JSON a device applies (a patch's cut, messages, state and metadata; a
-- meta's metadata; empty for put and delete, which are read from the sessions themselves);
-- `device` and `op` name the pushed operation it came from, if any.
CREATE TABLE changes (
    owner      TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    session_id BYTEA  NOT NULL,
    prev       BIGINT,
    kind       TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    device     TEXT,
    op         BIGINT,
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (owner, seq)
);

-- The last operation applied of each device of an owner: a push retried after a lost answer
-- applies nothing twice.
CREATE TABLE devices (
    owner   TEXT   NOT NULL,
    device  TEXT   NOT NULL,
    last_op BIGINT NOT NULL,
    PRIMARY KEY (owner, device)
);

-- What each operation did, kept until its device says it has the answer, so a retry gets the
-- same answer.
CREATE TABLE device_ops (
    owner   TEXT   NOT NULL,
    device  TEXT   NOT NULL,
    op      BIGINT NOT NULL,
    outcome TEXT   NOT NULL,
    PRIMARY KEY (owner, device, op)
);

-- Changes up to this seq have been pruned (or, for writes made before this version, never
-- logged): a device whose cursor is older resyncs from the sessions themselves.
ALTER TABLE owners ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
UPDATE owners SET pruned = seq;
