ALTER TABLE customers ADD COLUMN country TEXT;
UPDATE customers SET country = 'GB';
ALTER TABLE customers ALTER COLUMN country SET NOT NULL;
