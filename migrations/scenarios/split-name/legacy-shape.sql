-- The team's queries still read and write one `name`: read back as the two parts joined
-- (a one-word name has an empty family name: no trailing space), written split at the first
-- space as the release split the existing rows.
CREATE VIEW customers_shape.customers AS
    SELECT id, concat_ws(' ', given_name, NULLIF(family_name, '')) AS name,
           email, phone, status, created_at
    FROM customers;

CREATE FUNCTION customers_shape.write_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customers (given_name, family_name, email, phone, status)
        VALUES (split_part(NEW.name, ' ', 1), substr(NEW.name, strpos(NEW.name || ' ', ' ') + 1),
                NEW.email, NEW.phone, COALESCE(NEW.status, 'active'))
        RETURNING id INTO NEW.id;
    ELSE
        UPDATE customers SET email = NEW.email, phone = NEW.phone, status = NEW.status
        WHERE id = OLD.id;
        IF NEW.name IS DISTINCT FROM OLD.name THEN
            UPDATE customers SET given_name = split_part(NEW.name, ' ', 1),
                family_name = substr(NEW.name, strpos(NEW.name || ' ', ' ') + 1)
            WHERE id = OLD.id;
        END IF;
    END IF;
    SELECT * INTO NEW FROM customers_shape.customers WHERE id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER write_customer INSTEAD OF INSERT OR UPDATE ON customers_shape.customers
    FOR EACH ROW EXECUTE FUNCTION customers_shape.write_customer();
