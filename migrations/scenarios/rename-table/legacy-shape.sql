-- The customers team's queries still say `customers`.
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at FROM clients;
