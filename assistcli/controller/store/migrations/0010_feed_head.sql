-- The deregistration feed's last position, in a row of its own: appending locks it, so that
-- positions become visible in the order they were handed out (on every backend).
CREATE TABLE feed_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO feed_head
    SELECT 1, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'deregistrations'), 0);
