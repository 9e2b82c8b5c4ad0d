CREATE TABLE customer_phones (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    phone       TEXT   NOT NULL,
    PRIMARY KEY (customer_id, phone)
);
INSERT INTO customer_phones (customer_id, phone)
    SELECT id, phone FROM customers WHERE phone IS NOT NULL;
ALTER TABLE customers DROP COLUMN phone;
