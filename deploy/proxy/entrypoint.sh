#!/bin/sh
# Starts Caddy with the login of .env: the password is hashed here, at start-up, so .env holds
# no bcrypt string (whose `$` signs compose would try to interpolate) and the plain password
# never reaches Caddy's configuration or a process argument (printf is a shell builtin).
set -eu

: "${SAFEBEAT_PROXY_USER:?}" "${SAFEBEAT_PROXY_PASSWORD:?}"
SAFEBEAT_PROXY_PASSWORD_HASH=$(printf '%s\n' "$SAFEBEAT_PROXY_PASSWORD" | caddy hash-password)
export SAFEBEAT_PROXY_PASSWORD_HASH
unset SAFEBEAT_PROXY_PASSWORD

exec caddy run --config "${CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
