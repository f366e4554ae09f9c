#!/usr/bin/env bash
# Makes sure the local PostgreSQL and Redis the system needs are up,
# starting them, or installing them from Debian packages (as root) when
# they are missing.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
wait_until() { # wait_until SECONDS CMD... : poll CMD every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! command -v pg_isready >/dev/null || ! postgres_up; then
  cluster=""
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql
    cluster=$(ls /etc/postgresql | sort -V | tail -n 1)
    # A fresh install asks for passwords on TCP; this dev database trusts
    # loopback, as the services' default DATABASE_URL expects.
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
      "/etc/postgresql/$cluster/main/pg_hba.conf"
  fi
  cluster=${cluster:-$(ls /etc/postgresql | sort -V | tail -n 1)}
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main reload || true
  wait_until 30 postgres_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi
# Local development trusts loopback connections as user postgres.
psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 || {
  echo "cannot connect to PostgreSQL as postgres@127.0.0.1 without a password; allow trust auth for loopback in pg_hba.conf" >&2
  exit 1
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
if ! command -v redis-cli >/dev/null || ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/daprshop.log
  wait_until 15 redis_up || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
fi
echo "postgres and redis are up"
