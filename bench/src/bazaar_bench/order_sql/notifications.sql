-- One order's statements on the notifications database: OrderConfirmed applied once (inbox).
\set r random(1, 9223372036854775806)
BEGIN;
INSERT INTO inbox (consumer, event_id, event_type) VALUES ('notifications', md5(:r::text || 'e')::uuid, 'bazaar.orders.order.confirmed.v1') ON CONFLICT DO NOTHING RETURNING event_id;
INSERT INTO notifications (notification_id, customer_id, order_id, event_id, kind, message, created_at) VALUES (gen_random_uuid(), md5(:client_id::text)::uuid, md5(:r::text)::uuid, md5(:r::text || 'e')::uuid, 'order_confirmed', 'Your order ce6bfe54 is confirmed: total USD 9.99.', now()) ON CONFLICT (event_id) DO NOTHING RETURNING notification_id;
COMMIT;
