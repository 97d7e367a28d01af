-- Background jobs (issues 20 and 21): an import or a bulk action that runs after its request was
-- answered. `done` rows or leads of `total` (NULL: not known yet) gone through; `result` is the
-- JSON of core's JobResult (counts by outcome, and a sentence when it stopped early); `params` the
-- JSON of what was asked (file and mapping, or the selection and action), for the record.
-- `updated_at` moves with every progress write and a heartbeat while the job runs: a job left
-- 'running' whose heartbeat stopped belongs to a process that died, and is marked 'failed'.
CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('import', 'bulk')),
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
    operator_id BIGINT REFERENCES operators (id),
    summary TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    total BIGINT,
    done BIGINT NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}',
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX jobs_running ON jobs (updated_at) WHERE state = 'running';

-- A job's report: each row of the file (position = its line) or lead (position = its id) it did
-- not take, and why.
CREATE TABLE job_problems (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    reason TEXT NOT NULL
);

CREATE INDEX job_problems_job ON job_problems (job_id, position, id);
