#!/usr/bin/env bash
# Writes the dev-only secrets file read by the local secret store, and the
# env file with the sidecar/app API tokens. Existing files are kept, so
# tokens and keys stay stable across runs; delete .run/ to rotate them.
set -euo pipefail
run_dir=${1:?usage: secrets.sh RUN_DIR}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)

random_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if [ ! -f "$run_dir/secrets.json" ]; then
  umask 077
  cat > "$run_dir/secrets.json" <<JSON
{
  "jwt-signing-key": "$(random_b64 32)",
  "jwt-signing-key-id": "dev-$(random_hex 4)",
  "admin-email": "admin@daprshop.local",
  "admin-password": "Adm1n-$(random_hex 12)"
}
JSON
  echo "wrote $run_dir/secrets.json (dev admin credentials: admin-email / admin-password)"
fi

# add_secret adds key to the secrets file unless it holds it already, so a
# file written before the key existed gains it and keeps everything else.
# It relies on the layout written above: one key per line, "}" last.
add_secret() {
  local file=$run_dir/secrets.json key=$1 value=$2
  grep -q "^  \"$key\":" "$file" && return 0
  umask 077
  { sed '$d' "$file" | sed '$s/$/,/'; printf '  "%s": "%s"\n}\n' "$key" "$value"; } > "$file.tmp"
  mv "$file.tmp" "$file"
  echo "added $key to $file"
}
# The signing key being rotated out, empty until a rotation: auth reads
# every secret it uses by name, so these exist either way.
add_secret jwt-previous-signing-key ""
add_secret jwt-previous-signing-key-id ""
# Stripe test-mode credentials shared by the local emulator and payments.
add_secret stripe-secret-key "sk_test_$(random_hex 24)"
add_secret stripe-webhook-secret "whsec_$(random_hex 32)"
# PayPal sandbox-style credentials and webhook id, shared the same way; the
# emulator's local CA (paypal-ca.pem, which payments trusts through
# PAYPAL_CERT_ROOTS) is written beside them by the emulator itself.
add_secret paypal-client-id "A$(random_hex 20)"
add_secret paypal-client-secret "E$(random_hex 20)"
add_secret paypal-webhook-id "WH-$(random_hex 8)"
# The SMTP login of notifications' email binding, and mailpit's password
# file holding it (user:password), so the dev SMTP server asks for it.
add_secret smtp-user "notifications"
add_secret smtp-password "$(random_hex 16)"
secret() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$run_dir/secrets.json"; }
(umask 077; printf '%s:%s\n' "$(secret smtp-user)" "$(secret smtp-password)" > "$run_dir/smtp-auth")

if [ ! -f "$run_dir/dev.env" ]; then
  umask 077
  cat > "$run_dir/dev.env" <<ENV
DAPR_API_TOKEN=$(random_hex 24)
APP_API_TOKEN=$(random_hex 24)
DAPR_HOST_IP=127.0.0.1
DAPR_NAME_RESOLUTION_DB=$run_dir/nameresolution.db
ENV
  echo "wrote $run_dir/dev.env"
fi
