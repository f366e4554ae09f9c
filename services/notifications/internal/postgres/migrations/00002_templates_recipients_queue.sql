-- +goose Up
-- Deliveries are queued, then sent, or failed once the attempts allowed are
-- spent (a dead letter, listed for admins). Each row keeps the message as
-- rendered when queued, so a retry sends what the event called for even if
-- an admin edits the template in between.
UPDATE deliveries SET status = 'queued' WHERE status = 'pending';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('queued', 'sent', 'failed', 'skipped'));
ALTER TABLE deliveries
    ADD COLUMN subject    text        NOT NULL DEFAULT '',
    ADD COLUMN body       text        NOT NULL DEFAULT '',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
DROP INDEX deliveries_pending_idx;
CREATE INDEX deliveries_queued_idx ON deliveries (event_id) WHERE status = 'queued';
CREATE INDEX deliveries_failed_idx ON deliveries (updated_at DESC, id DESC) WHERE status = 'failed';

-- body stays the HTML (html/template) body of an email; text is the
-- text/template body of SMS and push messages.
ALTER TABLE templates ADD COLUMN text text NOT NULL DEFAULT '';

-- Where to reach users whose events carry no address, filled from
-- user.registered.
CREATE TABLE recipients (
    user_id    uuid        PRIMARY KEY,
    email      text        NOT NULL CHECK (email <> ''),
    name       text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Defaults; admins edit them through the API. Money arrives formatted by
-- the money function, user data is escaped by html/template.
INSERT INTO templates (name, subject, body, text) VALUES
('welcome', 'Welcome to daprshop, {{.Name}}',
 '<p>Hello {{.Name}},</p><p>welcome to daprshop. Your account is ready.</p>',
 'Welcome to daprshop, {{.Name}}!'),
('order_created', 'Order {{.OrderID}} received',
 '<p>We received your order {{.OrderID}} of {{money .TotalCents .Currency}}. It is waiting for payment.</p>',
 'Order {{.OrderID}} received: {{money .TotalCents .Currency}}, awaiting payment.'),
('order_paid', 'Receipt for order {{.OrderID}}',
 '<p>Thank you for your payment of {{money .TotalCents .Currency}} for order {{.OrderID}}.</p>{{if .InvoiceNumber}}<p>Invoice number: {{.InvoiceNumber}}</p>{{end}}',
 'Paid {{money .TotalCents .Currency}} for order {{.OrderID}}.{{if .InvoiceNumber}} Invoice {{.InvoiceNumber}}.{{end}}'),
('payment_failed', 'Payment for order {{.OrderID}} failed',
 '<p>The payment for order {{.OrderID}} failed{{if .Reason}}: {{.Reason}}{{end}}. Please try another payment method.</p>',
 'Payment for order {{.OrderID}} failed.'),
('order_shipped', 'Order {{.OrderID}} is on its way',
 '<p>Your order {{.OrderID}} has shipped.{{if .TrackingNumber}} Tracking number: {{.TrackingNumber}}.{{end}}</p>',
 'Order {{.OrderID}} shipped.{{if .TrackingNumber}} Tracking {{.TrackingNumber}}.{{end}}'),
('order_delivered', 'Order {{.OrderID}} delivered',
 '<p>Your order {{.OrderID}} was delivered. Enjoy!</p>',
 'Order {{.OrderID}} delivered.'),
('order_cancelled', 'Order {{.OrderID}} cancelled',
 '<p>Your order {{.OrderID}} was cancelled{{if .Reason}}: {{.Reason}}{{end}}.</p>',
 'Order {{.OrderID}} cancelled.'),
('payment_refunded', 'Refund for order {{.OrderID}}',
 '<p>We refunded {{money .AmountCents .Currency}} for order {{.OrderID}}.</p>',
 'Refunded {{money .AmountCents .Currency}} for order {{.OrderID}}.'),
('low_stock', 'Low stock: {{.SKU}}',
 '<p>{{.ProductName}} ({{.SKU}}) is down to {{.Available}} available, threshold {{.Threshold}}.</p>',
 'Low stock: {{.SKU}} at {{.Available}}.'),
('low_stock_digest', 'Low stock digest: {{len .Items}} products',
 '<p>Products at or below their low-stock threshold:</p><ul>{{range .Items}}<li>{{.ProductName}} ({{.SKU}}): {{.Available}} available</li>{{end}}</ul>',
 '{{len .Items}} products low on stock.');

-- +goose Down
DELETE FROM templates WHERE name IN ('welcome', 'order_created', 'order_paid', 'payment_failed', 'order_shipped',
    'order_delivered', 'order_cancelled', 'payment_refunded', 'low_stock', 'low_stock_digest');
DROP TABLE recipients;
ALTER TABLE templates DROP COLUMN text;
DROP INDEX deliveries_failed_idx;
DROP INDEX deliveries_queued_idx;
CREATE INDEX deliveries_pending_idx ON deliveries (created_at) WHERE status = 'pending';
ALTER TABLE deliveries DROP COLUMN updated_at, DROP COLUMN body, DROP COLUMN subject;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
UPDATE deliveries SET status = 'pending' WHERE status = 'queued';
ALTER TABLE deliveries ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));
