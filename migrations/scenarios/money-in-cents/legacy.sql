ALTER TABLE orders DROP CONSTRAINT orders_total_check;
ALTER TABLE orders ALTER COLUMN total TYPE BIGINT USING (total * 100)::bigint;
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0);
COMMENT ON COLUMN orders.total IS 'Order total in cents';
