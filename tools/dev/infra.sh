#!/usr/bin/env bash
# Makes sure the local PostgreSQL and Redis the system needs, and the
# alternative brokers RabbitMQ and NATS JetStream, are up: starting them, or
# installing them from Debian packages (as root) when they are missing.
# Prometheus (and promtool) is installed here too; `make run` and the e2e
# suite start it.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# Without its recommends: they bring node-exporter, which would take 9100,
# a port of the sidecars' replicas.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  apt_install --no-install-recommends prometheus
fi
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
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly yes \
    --dir /var/lib/redis --logfile /var/log/redis/daprshop.log
  wait_until 15 redis_up || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
fi
# Events not yet read and carts survive a Redis restart (README, "What
# survives a restart"): append-only persistence, switched on in a server
# that was started without it too. Redis writes each command to the file
# before it answers, so a killed Redis loses nothing acknowledged; fsync
# once a second bounds what a crash of the whole machine can take.
if [ "$(redis-cli -h 127.0.0.1 -p 6379 config get appendonly | tail -n 1)" != yes ]; then
  redis-cli -h 127.0.0.1 -p 6379 config set appendonly yes >/dev/null
fi
aof_ready() {
  redis-cli -h 127.0.0.1 -p 6379 info persistence | tr -d '\r' |
    grep -qzE 'aof_rewrite_in_progress:0.*aof_rewrite_scheduled:0.*aof_last_bgrewrite_status:ok'
}
wait_until 60 aof_ready || { echo "Redis did not write its append-only file" >&2; exit 1; }
# The PostgreSQL state stores (components/state/postgresql) keep their tables here.
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'dapr_state'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE dapr_state' >/dev/null
# Every sidecar creates the stores' metadata tables as it starts, and
# concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL ("type
# denylist_metadata already exists"), which daprd 1.14 does not retry: they
# are created here first, with Dapr's own definition.
for table in statestore_metadata denylist_metadata; do
  PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -U postgres -d dapr_state -qc \
    "CREATE TABLE IF NOT EXISTS $table (key text NOT NULL PRIMARY KEY, value text NOT NULL)" >/dev/null
done

# RabbitMQ for components/pubsub/rabbitmq (guest/guest, allowed on loopback).
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && rabbitmqctl -q status >/dev/null 2>&1; }
if ! rabbitmq_up; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  as_root rabbitmq-server -detached
  wait_until 90 rabbitmq_up || { echo "RabbitMQ did not start on 127.0.0.1:5672" >&2; exit 1; }
fi

# NATS with JetStream for components/pubsub/jetstream.
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up; then
  command -v nats-server >/dev/null || apt_install nats-server
  mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_until 15 nats_up || { echo "NATS did not start on 127.0.0.1:4222" >&2; exit 1; }
fi

# nats_request SUBJECT JSON: one request over the NATS text protocol (no
# client needed); prints the reply's payload.
nats_request() {
  local subject=$1 payload=$2 line
  exec 3<>/dev/tcp/127.0.0.1/4222
  printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.infra 1\r\nPUB %s _INBOX.infra %d\r\n%s\r\n' \
    "$subject" "${#payload}" "$payload" >&3
  while IFS= read -r -t 5 line <&3; do
    if [[ $line == MSG* ]]; then
      IFS= read -r -t 5 line <&3
      printf '%s\n' "${line%$'\r'}"
      break
    fi
  done
  exec 3<&-
}
# ensure_stream NAME CONFIG-JSON: create the JetStream stream, or update it
# to CONFIG.
ensure_stream() {
  local reply
  reply=$(nats_request "\$JS.API.STREAM.UPDATE.$1" "$2")
  if [[ $reply == *'"code":404'* ]]; then
    reply=$(nats_request "\$JS.API.STREAM.CREATE.$1" "$2")
  fi
  [[ $reply == *'"config"'* ]] || { echo "JetStream stream $1: ${reply:-no reply}" >&2; exit 1; }
}
# The component (Dapr 1.14) creates no stream. It gives each subscription
# one consumer, filtered to the topic, named by durableName, which is the
# same for every topic of an app; a consumer name is unique per stream, so
# each topic has a stream of its own (DAPRSHOP_<TOPIC>), and so has each
# app's dead-letter topic (deadletter.<app-id>, and deadletter.e2e for the
# probes): a dead letter keeps the id of the event it was and one event
# can be dead-lettered by several apps at once (an order.paid while the
# database server is down), so a shared stream would drop all but the first
# as duplicates. Events are kept 7 days; publishes carry the CloudEvent id
# as Nats-Msg-Id and a stream drops a repeated id within its 2-minute
# window. The streams of the former layout are removed first: subjects of
# streams may not overlap.
limits='"retention":"limits","storage":"file","discard":"old","num_replicas":1,"max_age":604800000000000,"duplicate_window":120000000000'
for old in DAPRSHOP DAPRSHOP_DEADLETTER; do
  nats_request "\$JS.API.STREAM.DELETE.$old" '' >/dev/null
done
topics=(user.registered inventory.released inventory.restocked inventory.low_stock
  order.created order.paid order.cancelled order.shipped order.delivered order.refunded
  payment.created payment.succeeded payment.failed payment.refunded notification.requested
  e2e.flow e2e.retry)
for app in products orders payments notifications workers e2e; do
  topics+=("deadletter.$app")
done
for topic in "${topics[@]}"; do
  name=DAPRSHOP_${topic//./_}
  ensure_stream "${name^^}" '{"name":"'"${name^^}"'","subjects":["'"$topic"'"],'"$limits"'}'
done

echo "postgres, redis, rabbitmq and nats (jetstream) are up"
