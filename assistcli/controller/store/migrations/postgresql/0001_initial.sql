-- The schema of SQLite's migrations 0001 to 0010, in PostgreSQL's types. Times are seconds
-- since the epoch (double precision), as in SQLite; flags are integers (0/1).
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1,
    created_at    DOUBLE PRECISION NOT NULL,
    last_used     DOUBLE PRECISION
);
CREATE TABLE nonces (
    nonce   TEXT PRIMARY KEY,
    used_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX nonces_used_at ON nonces (used_at);
CREATE TABLE client_tokens (
    scope       TEXT NOT NULL,
    token       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result      TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, token)
);
CREATE INDEX client_tokens_created_at ON client_tokens (created_at);
CREATE TABLE commands (
    command_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL,
    content           BYTEA NOT NULL,
    working_dir       TEXT NOT NULL DEFAULT '',
    timeout           BIGINT NOT NULL,
    enable_parameter  BIGINT NOT NULL DEFAULT 0,
    parameter_names   TEXT NOT NULL DEFAULT '[]',
    launcher          TEXT NOT NULL DEFAULT '',
    resource_group_id TEXT NOT NULL DEFAULT '',
    creation_time     DOUBLE PRECISION NOT NULL,
    invoke_times      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX commands_creation ON commands (creation_time);
CREATE TABLE instances (
    instance_id       TEXT PRIMARY KEY,
    instance_name     TEXT NOT NULL,
    hostname          TEXT NOT NULL DEFAULT '',
    os_type           TEXT NOT NULL DEFAULT 'linux',
    registration_time DOUBLE PRECISION NOT NULL,
    activation_id     TEXT NOT NULL DEFAULT '',
    machine_id        TEXT NOT NULL DEFAULT '',
    os_version        TEXT NOT NULL DEFAULT '',
    intranet_ip       TEXT NOT NULL DEFAULT '',
    internet_ip       TEXT NOT NULL DEFAULT '',
    resource_group_id TEXT NOT NULL DEFAULT '',
    secret_hash       TEXT NOT NULL DEFAULT '',
    agent_version     TEXT NOT NULL DEFAULT '',
    interpreters      TEXT NOT NULL DEFAULT '[]',
    timezone          TEXT NOT NULL DEFAULT '',
    boot_id           TEXT NOT NULL DEFAULT '',
    last_heartbeat    DOUBLE PRECISION,
    active_task_count BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE invocations (
    invoke_id             TEXT PRIMARY KEY,
    command_id            TEXT NOT NULL,
    command_name          TEXT NOT NULL,
    command_type          TEXT NOT NULL,
    command_description   TEXT NOT NULL DEFAULT '',
    content               BYTEA NOT NULL,
    parameters            TEXT,
    repeat_mode           TEXT NOT NULL,
    frequency             TEXT NOT NULL DEFAULT '',
    timeout               BIGINT NOT NULL,
    username              TEXT NOT NULL DEFAULT '',
    working_dir           TEXT NOT NULL DEFAULT '',
    container_id          TEXT NOT NULL DEFAULT '',
    container_name        TEXT NOT NULL DEFAULT '',
    launcher              TEXT NOT NULL DEFAULT '',
    termination_mode      TEXT NOT NULL DEFAULT '',
    oss_output_delivery   TEXT NOT NULL DEFAULT '',
    windows_password_name TEXT NOT NULL DEFAULT '',
    resource_group_id     TEXT NOT NULL DEFAULT '',
    creation_time         DOUBLE PRECISION NOT NULL,
    status                TEXT NOT NULL,
    legacy_status         TEXT NOT NULL,
    stop_time             DOUBLE PRECISION,
    kind                  TEXT NOT NULL DEFAULT 'command',
    region_id             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invocations_creation ON invocations (creation_time);
CREATE INDEX invocations_command ON invocations (command_id);
CREATE TABLE targets (
    invoke_id     TEXT NOT NULL REFERENCES invocations (invoke_id) ON DELETE CASCADE,
    instance_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    creation_time DOUBLE PRECISION NOT NULL,
    start_time    DOUBLE PRECISION,
    update_time   DOUBLE PRECISION,
    finish_time   DOUBLE PRECISION,
    stop_time     DOUBLE PRECISION,
    exit_code     BIGINT,
    output        BYTEA NOT NULL DEFAULT '',
    dropped       BIGINT NOT NULL DEFAULT 0,
    error_code    TEXT NOT NULL DEFAULT '',
    error_info    TEXT NOT NULL DEFAULT '',
    repeats       BIGINT NOT NULL DEFAULT 0,
    delivered_at  DOUBLE PRECISION,
    lease_until   DOUBLE PRECISION,
    run           BIGINT NOT NULL DEFAULT 1,
    report_seq    BIGINT NOT NULL DEFAULT -1,
    next_fire     DOUBLE PRECISION,
    timezone      TEXT NOT NULL DEFAULT '',
    boot_id       TEXT NOT NULL DEFAULT '',
    queued_at     DOUBLE PRECISION,
    PRIMARY KEY (invoke_id, instance_id)
);
CREATE INDEX targets_instance ON targets (instance_id);
CREATE INDEX targets_pending ON targets (status, creation_time);
CREATE INDEX targets_due ON targets (next_fire) WHERE next_fire IS NOT NULL;
CREATE TABLE tags (
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id, key)
);
CREATE INDEX tags_key ON tags (resource_type, key, value);
CREATE TABLE activations (
    activation_id      TEXT PRIMARY KEY,
    code_hash          TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    instance_name      TEXT NOT NULL DEFAULT '',
    instance_count     BIGINT NOT NULL,
    registered_count   BIGINT NOT NULL DEFAULT 0,
    deregistered_count BIGINT NOT NULL DEFAULT 0,
    time_to_live_hours BIGINT NOT NULL,
    ip_address_range   TEXT NOT NULL DEFAULT '',
    resource_group_id  TEXT NOT NULL DEFAULT '',
    creation_time      DOUBLE PRECISION NOT NULL,
    disabled           BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE files (
    invoke_id    TEXT PRIMARY KEY REFERENCES invocations (invoke_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    target_dir   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_mode    TEXT NOT NULL,
    file_owner   TEXT NOT NULL,
    file_group   TEXT NOT NULL,
    overwrite    BIGINT NOT NULL
);
CREATE TABLE runs (
    invoke_id   TEXT NOT NULL REFERENCES invocations (invoke_id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    run         BIGINT NOT NULL,
    status      TEXT NOT NULL,
    start_time  DOUBLE PRECISION,
    finish_time DOUBLE PRECISION,
    stop_time   DOUBLE PRECISION,
    update_time DOUBLE PRECISION,
    exit_code   BIGINT,
    output      BYTEA NOT NULL DEFAULT '',
    dropped     BIGINT NOT NULL DEFAULT 0,
    error_code  TEXT NOT NULL DEFAULT '',
    error_info  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (invoke_id, instance_id, run)
);
CREATE TABLE fires (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    fire_time   DOUBLE PRECISION NOT NULL,
    handled_at  DOUBLE PRECISION NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, fire_time)
);
CREATE TABLE store_checks (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE deregistrations (
    position        BIGINT PRIMARY KEY,
    instance_id     TEXT NOT NULL,
    deregistered_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX deregistrations_time ON deregistrations (deregistered_at);
CREATE TABLE feed_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO feed_head VALUES (1, 0);
CREATE TABLE controllers (
    controller_id TEXT PRIMARY KEY,
    applied       BIGINT NOT NULL,
    seen_at       DOUBLE PRECISION NOT NULL
);
CREATE TABLE output_chunks (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    run         BIGINT NOT NULL,
    byte_offset BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, run, byte_offset)
);
CREATE INDEX output_chunks_created ON output_chunks (created_at);
CREATE TABLE agent_keys (
    instance_id TEXT PRIMARY KEY REFERENCES instances (instance_id) ON DELETE CASCADE,
    machine_id  TEXT NOT NULL,
    public_key  TEXT NOT NULL
);
CREATE TABLE agent_runs (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    start_ms    BIGINT NOT NULL,
    run         BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, start_ms)
);
