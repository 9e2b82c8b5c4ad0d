-- The team's queries (and its v1 API) know four statuses: a refund is a cancellation.
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id,
           CASE status WHEN 'REFUNDED' THEN 'CANCELLED' ELSE status END AS status,
           total, created_at
    FROM orders.orders;

CREATE FUNCTION orders_shape.write_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders.orders (customer_id, status, total)
        VALUES (NEW.customer_id, COALESCE(NEW.status, 'NEW'), NEW.total)
        RETURNING id INTO NEW.id;
    ELSE
        -- A refunded order stays refunded when v1 says it is cancelled.
        UPDATE orders.orders SET customer_id = NEW.customer_id, total = NEW.total,
            status = CASE WHEN status = 'REFUNDED' AND NEW.status = 'CANCELLED'
                          THEN status ELSE NEW.status END
        WHERE id = OLD.id;
    END IF;
    SELECT * INTO NEW FROM orders_shape.orders WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_order INSTEAD OF INSERT OR UPDATE ON orders_shape.orders
    FOR EACH ROW EXECUTE FUNCTION orders_shape.write_order();
