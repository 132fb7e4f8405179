-- agen-policy approval store, migration 1: the approval requests.
--
-- One row per approval request (SPEC §8.2). `state` is the engine's state, `status` a copy of
-- its `status` (pending requests are found through a partial index), `version` counts the
-- updates: every update is `UPDATE ... WHERE id = $1 AND version = $2`, a compare-and-swap.
-- The engine computes every state; nothing here reads inside `state`.
CREATE TABLE agen_policy_approvals (
    id text PRIMARY KEY,
    state jsonb NOT NULL,
    status text NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agen_policy_approvals_pending ON agen_policy_approvals (id) WHERE status = 'pending';
