-- The team's queries still speak the API's statuses (NEW, PAID, SHIPPED, CANCELLED); the
-- table stores the payment provider's lower-case words.
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id,
           CASE status WHEN 'pending' THEN 'NEW' ELSE upper(status) END AS status,
           total, created_at
    FROM orders.orders;

CREATE FUNCTION orders_shape.stored_status(api TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE RETURN CASE api WHEN 'NEW' THEN 'pending' ELSE lower(api) END;

CREATE FUNCTION orders_shape.write_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders.orders (customer_id, status, total)
        VALUES (NEW.customer_id, orders_shape.stored_status(COALESCE(NEW.status, 'NEW')), NEW.total)
        RETURNING id INTO NEW.id;
    ELSE
        UPDATE orders.orders SET customer_id = NEW.customer_id,
            status = orders_shape.stored_status(NEW.status), total = NEW.total
        WHERE id = OLD.id;
    END IF;
    SELECT * INTO NEW FROM orders_shape.orders WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_order INSTEAD OF INSERT OR UPDATE ON orders_shape.orders
    FOR EACH ROW EXECUTE FUNCTION orders_shape.write_order();
