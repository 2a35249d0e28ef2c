-- The whole output of runs that outgrow their record (whose Output shows its head and its tail):
-- every byte at its offset in the run's output, up to the controller's --output-cap, purged
-- --output-retention after it was written.
CREATE TABLE output_chunks (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    run         INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    data        BLOB NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, run, byte_offset)
);
CREATE INDEX output_chunks_created ON output_chunks (created_at);
