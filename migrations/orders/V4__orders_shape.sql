-- The shape this service's queries expect, in its private schema `orders_shape`
-- (bootstrapped with the same walls as `orders`). A release replaces the view with one
-- that presents this shape over the new table (migrations/scenarios/*/migrated-shape.sql).
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id, status, total, created_at FROM orders.orders;
