-- The primary key becomes a UUID; the old numbers stay, unique, for what refers to them.
ALTER TABLE customers.customers RENAME COLUMN id TO number;
ALTER TABLE customers.customers ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE customers.customers DROP CONSTRAINT customers_pkey;
ALTER TABLE customers.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE customers.customers ADD CONSTRAINT customers_number_key UNIQUE (number);
