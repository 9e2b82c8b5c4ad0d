-- The team's queries still read and write money as a decimal with two places, of the
-- very type they read before (a prepared statement refuses a changed type: 0A000).
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id, status, (total / 100.0)::numeric(12, 2) AS total, created_at FROM orders;

CREATE FUNCTION orders_shape.write_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders (customer_id, status, total)
        VALUES (NEW.customer_id, COALESCE(NEW.status, 'NEW'), (NEW.total * 100)::bigint)
        RETURNING id INTO NEW.id;
    ELSE
        UPDATE orders SET customer_id = NEW.customer_id, status = NEW.status,
            total = (NEW.total * 100)::bigint
        WHERE id = OLD.id;
    END IF;
    SELECT * INTO NEW FROM orders_shape.orders WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_order INSTEAD OF INSERT OR UPDATE ON orders_shape.orders
    FOR EACH ROW EXECUTE FUNCTION orders_shape.write_order();
