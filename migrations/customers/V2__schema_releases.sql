-- The owner-side releases (migrations/scenarios) this schema has had. The customers service
-- reads it to know the shape of its own tables; no other service can see it.
CREATE TABLE customers.schema_releases (
    scenario   TEXT        PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
