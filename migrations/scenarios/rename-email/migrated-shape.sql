-- The customers service's queries still say `email`.
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email_address AS email, phone, status, created_at, version
    FROM customers.customers;
