-- The team's queries still read one phone. A scalar subquery, not a LEFT JOIN: the delete
-- guard locks the row FOR UPDATE, which cannot go through an outer join's nullable side.
CREATE VIEW customers_shape.customers AS
    SELECT c.id, c.name, c.email,
           (SELECT min(p.phone) FROM customer_phones p WHERE p.customer_id = c.id) AS phone,
           c.status, c.created_at
    FROM customers c;

CREATE FUNCTION customers_shape.write_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customers (name, email, status)
        VALUES (NEW.name, NEW.email, COALESCE(NEW.status, 'active'))
        RETURNING id INTO NEW.id;
    ELSE
        UPDATE customers SET name = NEW.name, email = NEW.email, status = NEW.status
        WHERE id = OLD.id;
        IF NEW.phone IS NOT DISTINCT FROM OLD.phone THEN
            SELECT * INTO NEW FROM customers_shape.customers WHERE id = NEW.id;
            RETURN NEW;
        END IF;
        DELETE FROM customer_phones WHERE customer_id = OLD.id;
    END IF;
    IF NEW.phone IS NOT NULL THEN
        INSERT INTO customer_phones (customer_id, phone) VALUES (NEW.id, NEW.phone);
    END IF;
    SELECT * INTO NEW FROM customers_shape.customers WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_customer INSTEAD OF INSERT OR UPDATE ON customers_shape.customers
    FOR EACH ROW EXECUTE FUNCTION customers_shape.write_customer();
