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
