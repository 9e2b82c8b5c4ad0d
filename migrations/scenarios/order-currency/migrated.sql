-- Each order keeps the currency it was paid in, and its value booked in euros.
ALTER TABLE orders.orders
    ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CHECK (currency IN ('EUR', 'USD')),
    ADD COLUMN total_eur numeric(12, 2);
UPDATE orders.orders SET total_eur = total;
-- The US shop's orders (in this seed, every third: ids 2, 5, 8, ...) were paid in
-- dollars: `total` now says what the customer paid, at the rate of the day.
UPDATE orders.orders SET currency = 'USD', total = round(total * 1.08, 2)
    WHERE id % 3 = 2;
ALTER TABLE orders.orders ALTER COLUMN total_eur SET NOT NULL,
    ADD CONSTRAINT orders_total_eur_check CHECK (total_eur >= 0);
