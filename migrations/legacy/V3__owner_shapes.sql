-- Each team's own SQL reads and writes its table through a view in a schema of its own:
-- the shape its queries expect. A release of the team replaces the view (and any function
-- behind it) with one that presents the same shape over the new table, so the team's code
-- never changes. The other team's SQL reaches the tables themselves, and follows nothing.
CREATE SCHEMA customers_shape;
-- Nobody else's, as the owner's own: the privileges are written down (not left to the
-- defaults), so that a login granted and then revoked them leaves them as they were.
REVOKE ALL ON SCHEMA customers_shape FROM PUBLIC;
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at FROM customers;

CREATE SCHEMA orders_shape;
REVOKE ALL ON SCHEMA orders_shape FROM PUBLIC;
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id, status, total, created_at FROM orders;
