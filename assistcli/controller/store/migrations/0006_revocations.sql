-- When each access key last signed a request (written at most once a minute per key).
ALTER TABLE access_keys ADD COLUMN last_used REAL;

-- Every deregistration, in order: each running controller follows this feed to stop trusting
-- the agents of instances removed by another process (the CLI) or another controller.
CREATE TABLE deregistrations (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     TEXT NOT NULL,
    deregistered_at REAL NOT NULL
);
CREATE INDEX deregistrations_time ON deregistrations (deregistered_at);

-- The controllers following the feed: how far each has applied it, and when it last said so.
-- A command that deregisters waits until every live one has caught up.
CREATE TABLE controllers (
    controller_id TEXT PRIMARY KEY,
    applied       INTEGER NOT NULL,
    seen_at       REAL NOT NULL
);
