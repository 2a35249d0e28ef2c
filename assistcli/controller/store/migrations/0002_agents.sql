-- Activations, registered agents, leased delivery, streamed output, file-send tasks.
CREATE TABLE activations (
    activation_id      TEXT PRIMARY KEY,
    code_hash          TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    instance_name      TEXT NOT NULL DEFAULT '',
    instance_count     INTEGER NOT NULL,
    registered_count   INTEGER NOT NULL DEFAULT 0,
    deregistered_count INTEGER NOT NULL DEFAULT 0,
    time_to_live_hours INTEGER NOT NULL,
    ip_address_range   TEXT NOT NULL DEFAULT '',
    resource_group_id  TEXT NOT NULL DEFAULT '',
    creation_time      REAL NOT NULL,
    disabled           INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE instances ADD COLUMN activation_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN machine_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN intranet_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN internet_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN resource_group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN secret_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN interpreters TEXT NOT NULL DEFAULT '[]';
ALTER TABLE instances ADD COLUMN timezone TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN last_heartbeat REAL;
ALTER TABLE instances ADD COLUMN active_task_count INTEGER NOT NULL DEFAULT 0;

ALTER TABLE invocations ADD COLUMN kind TEXT NOT NULL DEFAULT 'command';
ALTER TABLE invocations ADD COLUMN region_id TEXT NOT NULL DEFAULT '';

-- A record is delivered under a lease; an unacknowledged lease expires and it is delivered again.
ALTER TABLE targets ADD COLUMN delivered_at REAL;
ALTER TABLE targets ADD COLUMN lease_until REAL;
-- The run being delivered (periodic tasks run many times) and the last report sequence applied
-- to it: replays at or below it are acknowledged and ignored.
ALTER TABLE targets ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
ALTER TABLE targets ADD COLUMN report_seq INTEGER NOT NULL DEFAULT -1;

CREATE TABLE files (
    invoke_id    TEXT PRIMARY KEY REFERENCES invocations (invoke_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    target_dir   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_mode    TEXT NOT NULL,
    file_owner   TEXT NOT NULL,
    file_group   TEXT NOT NULL,
    overwrite    INTEGER NOT NULL
);
