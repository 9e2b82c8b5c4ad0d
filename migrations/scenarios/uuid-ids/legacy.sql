-- The primary key becomes a UUID; the old numbers stay, unique, for what refers to them.
ALTER TABLE customers RENAME COLUMN id TO number;
ALTER TABLE customers ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE customers DROP CONSTRAINT customers_pkey;
ALTER TABLE customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE customers ADD CONSTRAINT customers_number_key UNIQUE (number);
