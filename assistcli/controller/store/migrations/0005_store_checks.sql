-- One row rewritten by each health check: proof that a write still commits (a full disk fails it).
CREATE TABLE store_checks (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at REAL NOT NULL
);
