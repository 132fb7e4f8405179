-- agen-policy approval store: the table that records which migrations ran. Applied (idempotently)
-- before the numbered migrations, in the same transaction, under a transaction-scoped advisory
-- lock, so that processes starting together apply each migration exactly once.
CREATE TABLE IF NOT EXISTS agen_policy_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
);
