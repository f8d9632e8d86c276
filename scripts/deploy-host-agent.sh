#!/usr/bin/env bash
# Installs the mcp-warden host agent as a hardened systemd service (scripts/warden-agent.service):
# a system user, a 0600 token, the agent's own policy, the unit, and a health check. Run as root.
#
#   scripts/deploy-host-agent.sh --root /srv/project [--policy FILE] [--listen unix:/run/warden-agent/agent.sock]
#                                [--no-systemd]    # just print what the server needs, start in the foreground
#
# Prints HOST_AGENT_URL and where the token is, for the server (e.g. in its container):
#   warden serve --backend host-agent   with HOST_AGENT_URL and HOST_AGENT_TOKEN set.
# The command: WARDEN_BIN if set, else the build beside this script (node ../dist/cli/main.js: a
# clone after `npm ci`, or the installed package), else `warden` on PATH. The unit has
# ProtectHome=yes: a clone under /home or /root is invisible to the service (put it under /opt).
set -euo pipefail

root=""
policy=""
listen="unix:/run/warden-agent/agent.sock"
systemd=1
etc=/etc/warden-agent
here="$(cd "$(dirname "$0")" && pwd)"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --policy) policy="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "deploy-host-agent: unknown option $1" >&2; usage 2 ;;
  esac
done
[ -n "$root" ] || { echo "deploy-host-agent: --root DIR is required (the project the agent may run commands in)" >&2; exit 2; }
[ -d "$root" ] || { echo "deploy-host-agent: $root is not a directory" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "deploy-host-agent: run as root (creates a system user and a systemd unit)" >&2; exit 2; }
command -v bwrap >/dev/null || echo "deploy-host-agent: WARNING: bubblewrap is missing (apt-get install -y bubblewrap); the agent refuses commands without it unless its policy says confinement: none" >&2

package_dir="$(cd "$here/.." && pwd)"
if [ -n "${WARDEN_BIN:-}" ]; then warden="$WARDEN_BIN"
elif [ -f "$package_dir/dist/cli/main.js" ] && command -v node >/dev/null 2>&1; then
  warden="$(command -v node) $package_dir/dist/cli/main.js"
  case "$package_dir" in /home/*|/root/*)
    [ "$systemd" = 0 ] || echo "deploy-host-agent: WARNING: $package_dir is under /home or /root, which the unit hides (ProtectHome=yes): install the clone under /opt, or set WARDEN_BIN" >&2 ;;
  esac
elif command -v warden >/dev/null 2>&1; then warden="$(command -v warden)"
else
  echo "deploy-host-agent: no warden to run: $package_dir/dist/cli/main.js is missing (run \`npm ci\` in $package_dir), there is no \`warden\` on PATH, and WARDEN_BIN is not set" >&2
  exit 2
fi

id warden-agent >/dev/null 2>&1 || useradd --system --home-dir /var/lib/warden-agent --shell /usr/sbin/nologin warden-agent
install -d -m 0750 -o root -g warden-agent "$etc"
if [ ! -s "$etc/token" ]; then
  umask 077
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$etc/token"
  chgrp warden-agent "$etc/token"; chmod 0640 "$etc/token"
fi
if [ -n "$policy" ]; then install -m 0640 -g warden-agent "$policy" "$etc/policy.json"
elif [ ! -f "$etc/policy.json" ]; then install -m 0640 -g warden-agent "$here/../policies/default.json" "$etc/policy.json" 2>/dev/null \
  || echo '{"commands":{"allow":[{"program":"ls"},{"program":"cat"},{"program":"git"}]}}' > "$etc/policy.json"; fi

if [ "$systemd" = 1 ]; then
  unit=/etc/systemd/system/warden-agent.service
  sed -e "s#^Environment=WARDEN_AGENT_ROOT=.*#Environment=WARDEN_AGENT_ROOT=$root#" \
      -e "s#^ReadWritePaths=.*#ReadWritePaths=$root#" \
      -e "s#--listen [^ ]*#--listen $listen#" \
      -e "s#^ExecStart=/usr/bin/env warden #ExecStart=/usr/bin/env $warden #" \
      "$here/warden-agent.service" > "$unit"
  systemctl daemon-reload
  systemctl enable --now warden-agent.service
  for _ in $(seq 1 50); do
    if [[ "$listen" == unix:* ]]; then
      curl -fsS --unix-socket "${listen#unix:}" http://agent/v1/health >/dev/null 2>&1 && break
    else
      curl -fsS "http://${listen#http://}/v1/health" >/dev/null 2>&1 && break
    fi
    sleep 0.2
  done
  systemctl --no-pager --lines=5 status warden-agent.service || true
else
  echo "starting in the foreground (Ctrl-C stops it)" >&2
fi

cat <<MSG
host agent: $listen  (token: $etc/token, group warden-agent)
for the server:
  HOST_AGENT_URL=$listen
  HOST_AGENT_TOKEN=\$(cat $etc/token)
  warden serve --backend host-agent --root $root
MSG
if [ "$systemd" = 0 ]; then
  exec $warden agent --listen "$listen" --policy "$etc/policy.json" --root "$root" --token-file "$etc/token"
fi
