-- +goose Up
-- orders knows no tracking number, so order.shipped never carries one: the
-- default shipping mail stops offering it. A template an admin edited is
-- left as it is.
UPDATE templates SET
  body = '<p>Your order {{.OrderID}} has shipped.</p>',
  text = 'Order {{.OrderID}} shipped.'
WHERE name = 'order_shipped'
  AND body = '<p>Your order {{.OrderID}} has shipped.{{if .TrackingNumber}} Tracking number: {{.TrackingNumber}}.{{end}}</p>'
  AND text = 'Order {{.OrderID}} shipped.{{if .TrackingNumber}} Tracking {{.TrackingNumber}}.{{end}}';

-- +goose Down
UPDATE templates SET
  body = '<p>Your order {{.OrderID}} has shipped.{{if .TrackingNumber}} Tracking number: {{.TrackingNumber}}.{{end}}</p>',
  text = 'Order {{.OrderID}} shipped.{{if .TrackingNumber}} Tracking {{.TrackingNumber}}.{{end}}'
WHERE name = 'order_shipped'
  AND body = '<p>Your order {{.OrderID}} has shipped.</p>'
  AND text = 'Order {{.OrderID}} shipped.';
