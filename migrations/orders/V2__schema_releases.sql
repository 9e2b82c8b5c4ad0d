-- The owner-side releases (migrations/scenarios) this schema has had. The orders service
-- reads it to know the shape of its own tables; no other service can see it.
CREATE TABLE orders.schema_releases (
    scenario   TEXT        PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
