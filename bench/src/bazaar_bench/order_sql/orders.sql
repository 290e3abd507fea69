-- One order's statements on the orders database, as the orders service issues them (captured
-- with log_statement=all): every transaction is preceded by the connection pool's empty
-- BEGIN/ROLLBACK check, reads end in ROLLBACK, and each outbox event costs the relay one
-- claim-and-mark transaction plus its backlog gauge query.
\set r random(1, 9223372036854775806)
\set k random(1, 9223372036854775806)
\set p random(1, 20)
-- POST /orders: the idempotency key lookup
BEGIN;
SELECT request_hash, order_id FROM idempotency_keys WHERE customer_id = md5(:client_id::text)::uuid AND key = md5(:k::text);
ROLLBACK;
-- POST /orders: order, item, saga, OrderPlaced and the key in one transaction
BEGIN;
INSERT INTO orders (order_id, customer_id, total_amount, currency, status, created_at, updated_at, rejection_reason) VALUES (md5(:r::text)::uuid, md5(:client_id::text)::uuid, 9.99, 'USD', 'PENDING', now(), now(), NULL);
INSERT INTO order_items (item_id, order_id, line_no, product_id, quantity, unit_price) VALUES (gen_random_uuid(), md5(:r::text)::uuid, 1, md5(:p::text)::uuid, 1, 9.99);
INSERT INTO order_sagas (order_id, state, attempts, next_attempt_at, deadline_at, payment_token, rejection_reason, rejection_detail, last_error, updated_at) VALUES (md5(:r::text)::uuid, 'RESERVING', 0, now(), now() + interval '15 minutes', 'tok_visa', NULL, NULL, NULL, now());
INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'bazaar.orders.order.placed.v1', CAST('{"id": "9daa1013-02b4-4760-92a8-ff60e284387c", "data": {"items": [{"quantity": 1, "productId": "61d88655-6ca3-4c2f-afec-93e00fb05a00", "unitPrice": "9.99"}], "orderId": "ce6bfe54-f928-4365-8f15-56def35705f3", "currency": "USD", "customerId": "73104401-315c-4aa9-80f1-54109a39b55e", "totalAmount": "9.99"}, "time": "2026-11-22T19:56:44.751038Z", "type": "bazaar.orders.order.placed.v1", "source": "/bazaar/orders", "subject": "ce6bfe54-f928-4365-8f15-56def35705f3", "specversion": "1.0", "traceparent": "00-2222dab256a0f1354a9e6fde1fcf6d14-e9156c01c9b35aa3-01", "datacontenttype": "application/json"}' AS jsonb)) RETURNING seq AS placed_seq \gset
INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id) VALUES (md5(:client_id::text)::uuid, md5(:k::text), md5(:r::text), md5(:r::text)::uuid) ON CONFLICT DO NOTHING RETURNING key;
COMMIT;
-- the relay publishes OrderPlaced
BEGIN;
SELECT seq, payload::text FROM outbox WHERE published_at IS NULL AND quarantined IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE outbox SET published_at = now() WHERE seq = ANY(ARRAY[:placed_seq]::bigint[]);
COMMIT;
BEGIN;
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL;
COMMIT;
-- the saga runner claims the saga and loads the order
BEGIN;
UPDATE order_sagas SET lease_owner = 'pgbench', lease_until = now() + interval '10 seconds' WHERE order_id = md5(:r::text)::uuid AND state NOT IN ('CANCELLED', 'DONE', 'REJECTED') AND (lease_until IS NULL OR lease_until < now()) AND next_attempt_at <= now() RETURNING *;
SELECT order_id, customer_id, total_amount, currency, status, created_at, updated_at, rejection_reason FROM orders WHERE order_id = md5(:r::text)::uuid;
SELECT item_id, order_id, line_no, product_id, quantity, unit_price FROM order_items WHERE order_id IN (md5(:r::text)::uuid) ORDER BY order_id, line_no;
COMMIT;
BEGIN;
SELECT order_id, customer_id, total_amount, currency, status, created_at, updated_at, rejection_reason FROM orders WHERE order_id = md5(:r::text)::uuid;
SELECT item_id, order_id, line_no, product_id, quantity, unit_price FROM order_items WHERE order_id IN (md5(:r::text)::uuid) ORDER BY order_id, line_no;
ROLLBACK;
BEGIN;
UPDATE order_sagas SET lease_owner = 'pgbench', lease_until = now() + interval '10 seconds' WHERE order_id = md5(:r::text)::uuid AND state NOT IN ('CANCELLED', 'DONE', 'REJECTED') AND (lease_until IS NULL OR lease_until < now() OR lease_owner = 'pgbench') AND next_attempt_at <= now() RETURNING *;
COMMIT;
-- the saga's steps: reserved → AUTHORIZING, authorized → CAPTURING
BEGIN;
UPDATE order_sagas SET state = 'AUTHORIZING', attempts = 0, next_attempt_at = now(), lease_until = now() + interval '10 seconds', deadline_at = now() + interval '15 minutes', rejection_reason = NULL, rejection_detail = NULL, last_error = NULL, updated_at = now() WHERE order_id = md5(:r::text)::uuid AND lease_owner = 'pgbench' AND state = 'RESERVING' RETURNING order_id;
COMMIT;
BEGIN;
UPDATE order_sagas SET state = 'CAPTURING', attempts = 0, next_attempt_at = now(), lease_until = now() + interval '10 seconds', deadline_at = now() + interval '15 minutes', rejection_reason = NULL, rejection_detail = NULL, last_error = NULL, updated_at = now() WHERE order_id = md5(:r::text)::uuid AND lease_owner = 'pgbench' AND state = 'AUTHORIZING' RETURNING order_id;
COMMIT;
-- confirm: saga DONE, order CONFIRMED and OrderConfirmed in one transaction
BEGIN;
UPDATE order_sagas SET state = 'DONE', attempts = 0, next_attempt_at = now(), lease_until = now() + interval '10 seconds', deadline_at = now() + interval '15 minutes', rejection_reason = NULL, rejection_detail = NULL, last_error = NULL, updated_at = now() WHERE order_id = md5(:r::text)::uuid AND lease_owner = 'pgbench' AND state = 'CAPTURING' RETURNING order_id;
SELECT order_id, customer_id, total_amount, currency, status, created_at, updated_at, rejection_reason FROM orders WHERE order_id = md5(:r::text)::uuid FOR UPDATE;
SELECT item_id, order_id, line_no, product_id, quantity, unit_price FROM order_items WHERE order_id IN (md5(:r::text)::uuid) ORDER BY order_id, line_no;
UPDATE orders SET status = 'CONFIRMED', updated_at = now(), rejection_reason = NULL WHERE order_id = md5(:r::text)::uuid;
INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'bazaar.orders.order.confirmed.v1', CAST('{"id": "d8943049-2a60-47c8-8a76-d710d38a924d", "data": {"orderId": "ce6bfe54-f928-4365-8f15-56def35705f3", "currency": "USD", "customerId": "73104401-315c-4aa9-80f1-54109a39b55e", "totalAmount": "9.99"}, "time": "2026-11-22T19:56:44.795524Z", "type": "bazaar.orders.order.confirmed.v1", "source": "/bazaar/orders", "subject": "ce6bfe54-f928-4365-8f15-56def35705f3", "specversion": "1.0", "traceparent": "00-2222dab256a0f1354a9e6fde1fcf6d14-4b3ea5fc1037e629-01", "datacontenttype": "application/json"}' AS jsonb)) RETURNING seq AS confirmed_seq \gset
COMMIT;
-- the lease is given back
BEGIN;
UPDATE order_sagas SET lease_owner = NULL, lease_until = NULL WHERE order_id = md5(:r::text)::uuid AND lease_owner = 'pgbench';
COMMIT;
-- the relay publishes OrderConfirmed
BEGIN;
SELECT seq, payload::text FROM outbox WHERE published_at IS NULL AND quarantined IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE outbox SET published_at = now() WHERE seq = ANY(ARRAY[:confirmed_seq]::bigint[]);
COMMIT;
BEGIN;
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL;
COMMIT;
-- the shopper reads the confirmed order once (GET /orders/{id})
BEGIN;
SELECT order_id, customer_id, total_amount, currency, status, created_at, updated_at, rejection_reason FROM orders WHERE order_id = md5(:r::text)::uuid;
SELECT item_id, order_id, line_no, product_id, quantity, unit_price FROM order_items WHERE order_id IN (md5(:r::text)::uuid) ORDER BY order_id, line_no;
ROLLBACK;
