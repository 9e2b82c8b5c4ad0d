ALTER TABLE customers ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
-- A session sees, and writes, its tenant's rows; one that names no tenant is 'default'.
CREATE POLICY customers_per_tenant ON customers
    USING (tenant = COALESCE(NULLIF(current_setting('app.tenant', true), ''), 'default'))
    WITH CHECK (tenant = COALESCE(NULLIF(current_setting('app.tenant', true), ''), 'default'));
