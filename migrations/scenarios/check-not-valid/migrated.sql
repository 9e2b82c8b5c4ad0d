ALTER TABLE customers.customers ADD COLUMN signup_channel TEXT;
-- NOT VALID: the rows already there are not checked (nor rewritten); every new or updated
-- row is.
ALTER TABLE customers.customers ADD CONSTRAINT customers_signup_channel_check
    CHECK (signup_channel IS NOT NULL) NOT VALID;
