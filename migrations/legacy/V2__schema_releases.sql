-- The owner-side releases (migrations/scenarios) this database has had, with the team
-- that shipped each. Each owner service reads its own rows to know the shape of its
-- tables; nobody tells the other team.
CREATE TABLE schema_releases (
    scenario   TEXT        PRIMARY KEY,
    owner      TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
