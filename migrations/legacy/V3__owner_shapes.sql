-- Each team's own SQL reads and writes its table through a view in a schema of its own:
-- the shape its queries expect. A release of the team replaces the view (and any function
-- behind it) with one that presents the same shape over the new table, so the team's code
-- never changes. The other team's SQL reaches the tables themselves, and follows nothing.
CREATE SCHEMA customers_shape;
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at FROM customers;

CREATE SCHEMA orders_shape;
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id, status, total, created_at FROM orders;
