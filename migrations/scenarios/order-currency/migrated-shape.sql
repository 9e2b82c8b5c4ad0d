-- v1: the team's queries (and its v1 API) read and write a total in euros, as always.
CREATE VIEW orders_shape.orders AS
    SELECT id, customer_id, status, total_eur AS total, created_at FROM orders.orders;

CREATE FUNCTION orders_shape.write_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- v1 takes euros: an order placed through it is paid in euros.
        INSERT INTO orders.orders (customer_id, status, total, total_eur)
        VALUES (NEW.customer_id, COALESCE(NEW.status, 'NEW'), NEW.total, NEW.total)
        RETURNING id INTO NEW.id;
    ELSE
        -- A new euro total keeps the order's own currency, at the order's own rate.
        UPDATE orders.orders SET customer_id = NEW.customer_id, status = NEW.status,
            total = CASE WHEN NEW.total = OLD.total THEN total
                         WHEN currency = 'EUR' OR total_eur = 0 THEN NEW.total
                         ELSE round(NEW.total * total / total_eur, 2) END,
            total_eur = NEW.total
        WHERE id = OLD.id;
    END IF;
    SELECT * INTO NEW FROM orders_shape.orders WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_order INSTEAD OF INSERT OR UPDATE ON orders_shape.orders
    FOR EACH ROW EXECUTE FUNCTION orders_shape.write_order();

-- v2, published by this release: what the customer paid, in its currency, and the value
-- booked in euros. The service's v2 routes read this view; without it they answer
-- 404 /problems/version-not-published.
CREATE VIEW orders_shape.orders_v2 AS
    SELECT id, customer_id, status, total AS amount, currency,
           total_eur, created_at
    FROM orders.orders;
