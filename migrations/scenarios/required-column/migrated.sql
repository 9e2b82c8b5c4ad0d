ALTER TABLE customers.customers ADD COLUMN country TEXT;
UPDATE customers.customers SET country = 'GB';
ALTER TABLE customers.customers ALTER COLUMN country SET NOT NULL;
