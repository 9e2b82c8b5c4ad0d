ALTER TABLE customers.customers RENAME COLUMN email TO email_address;
