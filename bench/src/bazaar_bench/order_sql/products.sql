-- One order's statements on the products database, as the products service issues them.
\set r random(1, 9223372036854775806)
\set p random(1, 20)
-- pricing the order (orders asks the catalog)
BEGIN;
SELECT product_id, sku, name, description, price, currency, inventory, created_at, updated_at FROM products WHERE product_id IN (md5(:p::text)::uuid) ORDER BY name, product_id;
COMMIT;
-- the reservation: a conditional decrement, its lines and StockReserved in one transaction
BEGIN;
INSERT INTO reservations (order_id, status) VALUES (md5(:r::text)::uuid, 'RESERVED') ON CONFLICT (order_id) DO NOTHING RETURNING order_id;
SELECT product_id FROM products WHERE product_id IN (md5(:p::text)::uuid);
UPDATE products SET inventory = inventory - 1, updated_at = now() WHERE product_id = md5(:p::text)::uuid AND inventory >= 1 RETURNING product_id;
INSERT INTO reservation_lines (order_id, product_id, quantity) VALUES (md5(:r::text)::uuid, md5(:p::text)::uuid, 1);
INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'bazaar.products.stock.reserved.v1', CAST('{"id": "394f326b-d86c-43b5-9c98-aa54e1f47621", "data": {"items": [{"quantity": 1, "productId": "61d88655-6ca3-4c2f-afec-93e00fb05a00"}], "orderId": "ce6bfe54-f928-4365-8f15-56def35705f3"}, "time": "2026-11-22T19:56:44.771827Z", "type": "bazaar.products.stock.reserved.v1", "source": "/bazaar/products", "subject": "ce6bfe54-f928-4365-8f15-56def35705f3", "specversion": "1.0", "traceparent": "00-2222dab256a0f1354a9e6fde1fcf6d14-13a74e6f7932067c-01", "datacontenttype": "application/json"}' AS jsonb)) RETURNING seq AS reserved_seq \gset
COMMIT;
-- the relay publishes StockReserved
BEGIN;
SELECT seq, payload::text FROM outbox WHERE published_at IS NULL AND quarantined IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE outbox SET published_at = now() WHERE seq = ANY(ARRAY[:reserved_seq]::bigint[]);
COMMIT;
BEGIN;
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL;
COMMIT;
