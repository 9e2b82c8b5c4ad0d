-- A retried POST /orders with the same Idempotency-Key creates one order, as in the
-- migrated pair: without it, a client that lost the answer (Postgres paused, a timeout)
-- and retried placed the order twice. The key outlives its order, so a late retry of a
-- deleted order is told so (410) and nothing is placed: `order_id` is a plain id.
CREATE TABLE idempotency_keys (
    key          TEXT        PRIMARY KEY,
    request_hash TEXT        NOT NULL,
    order_id     BIGINT      NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
