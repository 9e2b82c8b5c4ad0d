ALTER TABLE orders DROP CONSTRAINT orders_status_check;
UPDATE orders SET status = lower(CASE status WHEN 'NEW' THEN 'pending' ELSE status END);
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled'));
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending';
