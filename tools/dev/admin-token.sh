#!/usr/bin/env bash
# Logs the dev SUPER_ADMIN in through the gateway and prints the access
# token as the last line. Needs only curl and sed.
set -euo pipefail
secrets=${1:?usage: admin-token.sh SECRETS_JSON GATEWAY_URL}
gateway=${2:?usage: admin-token.sh SECRETS_JSON GATEWAY_URL}

# json_field NAME: the string value of "NAME" in the JSON on stdin (flat
# documents without escaped quotes, which is what these are).
json_field() { tr -d '\n' | sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'; }

email=$(json_field admin-email < "$secrets")
password=$(json_field admin-password < "$secrets")
if [ -z "$email" ] || [ -z "$password" ]; then
  echo "admin-email / admin-password missing from $secrets (run make prepare)" >&2
  exit 1
fi
body=$(curl -sS -X POST "$gateway/api/v1/auth/login" -H 'Content-Type: application/json' \
  --data-binary @- -w '\n%{http_code}' <<JSON
{"email":"$email","password":"$password"}
JSON
)
status=${body##*$'\n'}
if [ "$status" != 200 ]; then
  echo "login as $email failed with HTTP $status: ${body%$'\n'*}" >&2
  exit 1
fi
token=$(printf '%s' "${body%$'\n'*}" | json_field access_token)
[ -n "$token" ] || { echo "no access_token in the login answer" >&2; exit 1; }
echo "$token"
