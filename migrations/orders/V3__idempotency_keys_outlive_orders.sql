-- An idempotency key outlives the order it created. With the key deleted along with its
-- order, a late retry of the first request placed the order a second time; kept, the retry
-- is told the order is gone (410) and nothing is placed. `order_id` stays a plain id.
ALTER TABLE orders.idempotency_keys DROP CONSTRAINT idempotency_keys_order_id_fkey;
