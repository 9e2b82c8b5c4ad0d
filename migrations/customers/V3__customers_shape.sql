-- The shape this service's queries expect, in its private schema `customers_shape`
-- (bootstrapped with the same walls as `customers`). A release replaces the view with one
-- that presents this shape over the new table (migrations/scenarios/*/migrated-shape.sql).
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at, version FROM customers.customers;
