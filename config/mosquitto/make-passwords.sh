#!/bin/sh
# Create the broker's password file and one secret per user, for the components' settings.
#
#   sh config/mosquitto/make-passwords.sh -c /etc/aabent/aabent.toml /etc/mosquitto/aabent.passwd /etc/aabent
#   sh config/mosquitto/make-passwords.sh PASSWORD_FILE SECRETS_DIR USER ...
#
# With -c the users come from the site's settings (`aabent broker users`: door-<controller> for
# every controller, then kiosk server sim homeassistant), and the ACL is written from them too
# (`aabent broker acl`) to ACL_FILE (default: aabent.acl beside PASSWORD_FILE). AABENT names the
# command (default: aabent on PATH, else this checkout's .venv/bin/aabent).
#
# An existing secret in SECRETS_DIR (mqtt-<user>.password) is kept, a missing one is made from
# /dev/urandom; every component then points its [mqtt] password_file at its own secret. The
# secrets of aabent's own components are readable by the group SECRETS_GROUP (default aabent,
# the service user's group; mode 0640), Home Assistant's by root only (0600). The password file
# is written from scratch (mosquitto_passwd -U hashes it in place), so no password is ever on a
# command line.
set -eu
config=""
if [ "${1:-}" = "-c" ]; then
  [ $# -ge 2 ] || { echo "$0: -c needs the settings file" >&2; exit 2; }
  config=$2
  shift 2
fi
if [ $# -lt 2 ] || { [ -z "$config" ] && [ $# -lt 3 ]; }; then
  echo "usage: $0 -c CONFIG PASSWORD_FILE SECRETS_DIR | $0 PASSWORD_FILE SECRETS_DIR USER ..." >&2
  exit 2
fi
passwd_file=$1
secrets=$2
shift 2
group=${SECRETS_GROUP:-aabent}
if [ -n "$config" ]; then
  if [ -z "${AABENT:-}" ]; then
    AABENT=aabent
    command -v aabent >/dev/null 2>&1 || AABENT="$(dirname "$0")/../../.venv/bin/aabent"
  fi
  # shellcheck disable=SC2086  # AABENT may be a command with arguments
  users=$($AABENT -c "$config" broker users)
  acl_file=${ACL_FILE:-$(dirname "$passwd_file")/aabent.acl}
  # shellcheck disable=SC2086
  $AABENT -c "$config" broker acl > "$acl_file.new"
  mv "$acl_file.new" "$acl_file"
  echo "wrote $acl_file"
  # shellcheck disable=SC2086
  set -- $users
fi
umask 077
if [ ! -d "$secrets" ]; then
  mkdir -p "$secrets"
  # The service user must reach its secret: the folder is searchable by its group.
  if getent group "$group" >/dev/null 2>&1; then
    chgrp "$group" "$secrets"
    chmod 0750 "$secrets"
  fi
fi
plain=$(mktemp "${passwd_file}.XXXXXX")
trap 'rm -f "$plain"' EXIT
for user in "$@"; do
  secret="$secrets/mqtt-$user.password"
  if [ ! -s "$secret" ]; then
    head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 32 > "$secret"
  fi
  if [ "$user" != homeassistant ] && getent group "$group" >/dev/null 2>&1; then
    chgrp "$group" "$secret"
    chmod 0640 "$secret"
  else
    chmod 0600 "$secret"
  fi
  printf '%s:%s\n' "$user" "$(cat "$secret")" >> "$plain"
done
mosquitto_passwd -U "$plain"
mv "$plain" "$passwd_file"
# Mosquitto 2 reads the file after dropping to its own user: let that group read it.
if getent group mosquitto >/dev/null 2>&1; then
  chgrp mosquitto "$passwd_file"
  chmod 0640 "$passwd_file"
fi
trap - EXIT
if ! getent group "$group" >/dev/null 2>&1; then
  echo "note: no group $group: the secrets are readable by root only (SECRETS_GROUP=...)" >&2
fi
echo "wrote $passwd_file for: $*; secrets in $secrets/mqtt-<user>.password"
