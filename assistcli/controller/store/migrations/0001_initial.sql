-- Commands, invocations, per-instance records, instances, tags, keys, nonces, client tokens.
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    REAL NOT NULL
);

CREATE TABLE nonces (
    nonce   TEXT PRIMARY KEY,
    used_at REAL NOT NULL
);
CREATE INDEX nonces_used_at ON nonces (used_at);

CREATE TABLE client_tokens (
    scope       TEXT NOT NULL,
    token       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result      TEXT,
    created_at  REAL NOT NULL,
    PRIMARY KEY (scope, token)
);

CREATE TABLE commands (
    command_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL,
    content           BLOB NOT NULL,
    working_dir       TEXT NOT NULL DEFAULT '',
    timeout           INTEGER NOT NULL,
    enable_parameter  INTEGER NOT NULL DEFAULT 0,
    parameter_names   TEXT NOT NULL DEFAULT '[]',
    launcher          TEXT NOT NULL DEFAULT '',
    resource_group_id TEXT NOT NULL DEFAULT '',
    creation_time     REAL NOT NULL,
    invoke_times      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX commands_creation ON commands (creation_time);

CREATE TABLE instances (
    instance_id       TEXT PRIMARY KEY,
    instance_name     TEXT NOT NULL,
    hostname          TEXT NOT NULL DEFAULT '',
    os_type           TEXT NOT NULL DEFAULT 'linux',
    registration_time REAL NOT NULL
);

CREATE TABLE invocations (
    invoke_id             TEXT PRIMARY KEY,
    command_id            TEXT NOT NULL,
    command_name          TEXT NOT NULL,
    command_type          TEXT NOT NULL,
    command_description   TEXT NOT NULL DEFAULT '',
    content               BLOB NOT NULL,
    parameters            TEXT,
    repeat_mode           TEXT NOT NULL,
    frequency             TEXT NOT NULL DEFAULT '',
    timeout               INTEGER NOT NULL,
    username              TEXT NOT NULL DEFAULT '',
    working_dir           TEXT NOT NULL DEFAULT '',
    container_id          TEXT NOT NULL DEFAULT '',
    container_name        TEXT NOT NULL DEFAULT '',
    launcher              TEXT NOT NULL DEFAULT '',
    termination_mode      TEXT NOT NULL DEFAULT '',
    oss_output_delivery   TEXT NOT NULL DEFAULT '',
    windows_password_name TEXT NOT NULL DEFAULT '',
    resource_group_id     TEXT NOT NULL DEFAULT '',
    creation_time         REAL NOT NULL,
    status                TEXT NOT NULL,
    legacy_status         TEXT NOT NULL,
    stop_time             REAL
);
CREATE INDEX invocations_creation ON invocations (creation_time);
CREATE INDEX invocations_command ON invocations (command_id);

CREATE TABLE targets (
    invoke_id     TEXT NOT NULL REFERENCES invocations (invoke_id) ON DELETE CASCADE,
    instance_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    creation_time REAL NOT NULL,
    start_time    REAL,
    update_time   REAL,
    finish_time   REAL,
    stop_time     REAL,
    exit_code     INTEGER,
    output        BLOB NOT NULL DEFAULT x'',
    dropped       INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT NOT NULL DEFAULT '',
    error_info    TEXT NOT NULL DEFAULT '',
    repeats       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (invoke_id, instance_id)
);
CREATE INDEX targets_instance ON targets (instance_id);
CREATE INDEX targets_pending ON targets (status, creation_time);

CREATE TABLE tags (
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (resource_type, resource_id, key)
);
CREATE INDEX tags_key ON tags (resource_type, key, value);
