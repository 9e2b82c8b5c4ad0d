-- A deleted customer is no customer anywhere in the customers team's code, and deleting
-- one through the shape marks the row instead of removing it.
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at FROM customers WHERE deleted_at IS NULL;

CREATE FUNCTION customers_shape.soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers SET deleted_at = now() WHERE id = OLD.id;
    RETURN OLD;
END $$;

CREATE TRIGGER soft_delete INSTEAD OF DELETE ON customers_shape.customers
    FOR EACH ROW EXECUTE FUNCTION customers_shape.soft_delete();
