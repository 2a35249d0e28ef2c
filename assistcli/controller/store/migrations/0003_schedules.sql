-- Periodic and reboot-triggered tasks: schedule state per record, run history, fire records.
ALTER TABLE targets ADD COLUMN next_fire REAL;  -- when the next periodic run is due
ALTER TABLE targets ADD COLUMN timezone TEXT NOT NULL DEFAULT '';  -- of a cron without a zone
ALTER TABLE targets ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';  -- reboot tasks: boot seen when armed
ALTER TABLE targets ADD COLUMN queued_at REAL;  -- when the current run became Pending
UPDATE targets SET queued_at = creation_time;
CREATE INDEX targets_due ON targets (next_fire) WHERE next_fire IS NOT NULL;

-- One row per run of a periodic or every-reboot task (DescribeInvocationResults IncludeHistory).
CREATE TABLE runs (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    run         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    start_time  REAL,
    finish_time REAL,
    stop_time   REAL,
    update_time REAL,
    exit_code   INTEGER,
    output      BLOB NOT NULL DEFAULT x'',
    dropped     INTEGER NOT NULL DEFAULT 0,
    error_code  TEXT NOT NULL DEFAULT '',
    error_info  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (invoke_id, instance_id, run),
    FOREIGN KEY (invoke_id) REFERENCES invocations (invoke_id) ON DELETE CASCADE
);

-- Each scheduled moment is handled once, whatever restarts or replicas: `outcome` says how
-- (run; late: missed beyond the grace period; busy: the previous run was still going).
CREATE TABLE fires (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    fire_time   REAL NOT NULL,
    handled_at  REAL NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, fire_time)
);
