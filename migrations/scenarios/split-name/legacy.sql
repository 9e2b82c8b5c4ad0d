ALTER TABLE customers ADD COLUMN given_name TEXT, ADD COLUMN family_name TEXT;
UPDATE customers SET given_name = split_part(name, ' ', 1),
                     family_name = btrim(substr(name, length(split_part(name, ' ', 1)) + 1));
ALTER TABLE customers ALTER COLUMN given_name SET NOT NULL,
                      ALTER COLUMN family_name SET NOT NULL,
                      DROP COLUMN name;
