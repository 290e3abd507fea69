-- One order's statements on the payments database, as the payments service issues them.
\set r random(1, 9223372036854775806)
-- authorize: look for an earlier payment, then payment, operation and PaymentAuthorized
BEGIN;
SELECT payment_id, order_id, customer_id, amount, currency, payment_token, status, decline_reason, created_at, updated_at FROM payments WHERE order_id = md5(:r::text)::uuid;
ROLLBACK;
BEGIN;
INSERT INTO payments (payment_id, order_id, customer_id, amount, currency, payment_token, status, decline_reason, created_at, updated_at) VALUES (md5(:r::text || 'p')::uuid, md5(:r::text)::uuid, md5(:client_id::text)::uuid, 9.99, 'USD', 'tok_visa', 'AUTHORIZED', NULL, now(), now()) ON CONFLICT (order_id) DO NOTHING RETURNING payment_id;
INSERT INTO payment_operations (payment_id, kind, amount, created_at) VALUES (md5(:r::text || 'p')::uuid, 'AUTHORIZE', 9.99, now());
INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'bazaar.payments.payment.authorized.v1', CAST('{"id": "7040d06d-a8aa-4c4f-8d51-d3f6bcecb2d5", "data": {"amount": "9.99", "orderId": "ce6bfe54-f928-4365-8f15-56def35705f3", "currency": "USD", "paymentId": "01ff704d-f9c7-448e-aeda-125bd00afdb9"}, "time": "2026-11-22T19:56:44.782673Z", "type": "bazaar.payments.payment.authorized.v1", "source": "/bazaar/payments", "subject": "ce6bfe54-f928-4365-8f15-56def35705f3", "specversion": "1.0", "traceparent": "00-2222dab256a0f1354a9e6fde1fcf6d14-14d82a842209ba90-01", "datacontenttype": "application/json"}' AS jsonb)) RETURNING seq AS authorized_seq \gset
COMMIT;
-- capture: status, operation and PaymentCaptured
BEGIN;
UPDATE payments SET status = 'CAPTURED', updated_at = now() WHERE order_id = md5(:r::text)::uuid AND status = 'AUTHORIZED' RETURNING payment_id, order_id, customer_id, amount, currency, payment_token, status, decline_reason, created_at, updated_at;
INSERT INTO payment_operations (payment_id, kind, amount, created_at) VALUES (md5(:r::text || 'p')::uuid, 'CAPTURE', 9.99, now());
INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'bazaar.payments.payment.captured.v1', CAST('{"id": "359ce74f-bd6c-4ba6-8f00-de942cfa38e4", "data": {"amount": "9.99", "orderId": "ce6bfe54-f928-4365-8f15-56def35705f3", "currency": "USD", "paymentId": "01ff704d-f9c7-448e-aeda-125bd00afdb9"}, "time": "2026-11-22T19:56:44.790366Z", "type": "bazaar.payments.payment.captured.v1", "source": "/bazaar/payments", "subject": "ce6bfe54-f928-4365-8f15-56def35705f3", "specversion": "1.0", "traceparent": "00-2222dab256a0f1354a9e6fde1fcf6d14-778f565198711718-01", "datacontenttype": "application/json"}' AS jsonb)) RETURNING seq AS captured_seq \gset
COMMIT;
-- the relay publishes both events
BEGIN;
SELECT seq, payload::text FROM outbox WHERE published_at IS NULL AND quarantined IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE outbox SET published_at = now() WHERE seq = ANY(ARRAY[:authorized_seq]::bigint[]);
COMMIT;
BEGIN;
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL;
COMMIT;
BEGIN;
SELECT seq, payload::text FROM outbox WHERE published_at IS NULL AND quarantined IS NULL ORDER BY seq LIMIT 100 FOR UPDATE SKIP LOCKED;
UPDATE outbox SET published_at = now() WHERE seq = ANY(ARRAY[:captured_seq]::bigint[]);
COMMIT;
BEGIN;
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL;
COMMIT;
