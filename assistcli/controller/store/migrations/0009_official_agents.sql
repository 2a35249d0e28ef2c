-- Alibaba's own agent (aliyun-service): the key each instance's agent signs its requests with,
-- and which run of a record each of its reports is about.
CREATE TABLE agent_keys (
    instance_id TEXT PRIMARY KEY REFERENCES instances (instance_id) ON DELETE CASCADE,
    machine_id  TEXT NOT NULL,  -- signed with every request, never sent again
    public_key  TEXT NOT NULL   -- PEM
);

-- Its reports name a run by the task's version and the run's start (every run of a periodic
-- task has the same task id and version); `seq` is the last report sequence given to the run.
CREATE TABLE agent_runs (
    invoke_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    start_ms    INTEGER NOT NULL,
    run         INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (invoke_id, instance_id, start_ms)
);
