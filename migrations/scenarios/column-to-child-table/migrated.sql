CREATE TABLE customers.customer_phones (
    customer_id BIGINT NOT NULL REFERENCES customers.customers (id) ON DELETE CASCADE,
    phone       TEXT   NOT NULL,
    PRIMARY KEY (customer_id, phone)
);
INSERT INTO customers.customer_phones (customer_id, phone)
    SELECT id, phone FROM customers.customers WHERE phone IS NOT NULL;
ALTER TABLE customers.customers DROP COLUMN phone;
