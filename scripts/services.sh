#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ (with the plugins the hub needs) are running locally.
# Idempotent: does nothing that is already done. Used by `make demo`, `make test` and .ci/run.
set -euo pipefail

wait_for() {  # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "services: $what did not come up" >&2; return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
fi

if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached
  wait_for RabbitMQ rabbitmq-diagnostics -q ping
fi

# The management API (users, permissions, vhosts) and consistent-hash exchange (per-learner
# ordering) are plugins; enabling an enabled plugin is a no-op.
needed="rabbitmq_management rabbitmq_consistent_hash_exchange"
enabled=$(rabbitmq-plugins list -e -m 2>/dev/null || true)
for p in $needed; do
  if ! grep -qx "$p" <<<"$enabled"; then
    echo "services: enabling RabbitMQ plugins: $needed"
    rabbitmq-plugins enable $needed >/dev/null
    break
  fi
done
wait_for "RabbitMQ management API" curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview
