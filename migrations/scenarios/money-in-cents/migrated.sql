ALTER TABLE orders.orders DROP CONSTRAINT orders_total_check;
ALTER TABLE orders.orders ALTER COLUMN total TYPE BIGINT USING (total * 100)::bigint;
ALTER TABLE orders.orders ADD CONSTRAINT orders_total_check CHECK (total >= 0);
COMMENT ON COLUMN orders.orders.total IS 'Order total in cents';
