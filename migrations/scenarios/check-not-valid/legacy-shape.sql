-- The team's writes say where a customer signed up: through its own API. A row from before
-- the release has none, and gets 'unknown' the first time it changes (NOT VALID checks
-- every updated row).
CREATE VIEW customers_shape.customers AS
    SELECT id, name, email, phone, status, created_at FROM customers;

CREATE FUNCTION customers_shape.write_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customers (name, email, phone, status, signup_channel)
        VALUES (NEW.name, NEW.email, NEW.phone, COALESCE(NEW.status, 'active'), 'api')
        RETURNING id INTO NEW.id;
    ELSE
        UPDATE customers SET name = NEW.name, email = NEW.email, phone = NEW.phone,
            status = NEW.status, signup_channel = COALESCE(signup_channel, 'unknown')
        WHERE id = OLD.id;
    END IF;
    SELECT * INTO NEW FROM customers_shape.customers WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_customer INSTEAD OF INSERT OR UPDATE ON customers_shape.customers
    FOR EACH ROW EXECUTE FUNCTION customers_shape.write_customer();
