ALTER TABLE customers.customers RENAME TO clients;
