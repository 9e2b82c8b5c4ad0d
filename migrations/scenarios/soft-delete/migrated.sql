ALTER TABLE customers.customers ADD COLUMN deleted_at TIMESTAMPTZ;
