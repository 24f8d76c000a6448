#!/bin/sh
# Create the broker's password file and one secret per user, for the components' settings.
#
#   sh config/mosquitto/make-passwords.sh /etc/mosquitto/aabent.passwd /etc/aabent [USER ...]
#
# USERs default to: door kiosk server sim homeassistant. An existing secret in SECRETS_DIR
# (mqtt-<user>.password) is kept, a missing one is made from /dev/urandom; every component then
# points its [mqtt] password_file at its own secret. The password file is written from scratch
# (mosquitto_passwd -U hashes it in place), so no password is ever on a command line.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 PASSWORD_FILE SECRETS_DIR [USER ...]" >&2
  exit 2
fi
passwd_file=$1
secrets=$2
shift 2
[ $# -gt 0 ] || set -- door kiosk server sim homeassistant
umask 077
mkdir -p "$secrets"
plain=$(mktemp "${passwd_file}.XXXXXX")
trap 'rm -f "$plain"' EXIT
for user in "$@"; do
  secret="$secrets/mqtt-$user.password"
  if [ ! -s "$secret" ]; then
    head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 32 > "$secret"
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
echo "wrote $passwd_file for: $*; secrets in $secrets/mqtt-<user>.password"
