-- The team's queries (and its v1 API) still know a customer by its number, as `id`.
CREATE VIEW customers_shape.customers AS
    SELECT number AS id, name, email, phone, status, created_at, version
    FROM customers.customers;
