#!/usr/bin/env bash
# Quick deployment of `warden serve --http`: makes a token (0600) if there is none, starts the
# server (as a systemd user service with --systemd, otherwise in the background with a log file),
# waits for /health and prints the client configuration.
#
#   scripts/deploy-http.sh --root /srv/app [--root DIR ...] [--read-only DIR ...] [--policy FILE]
#                          [--client-roots intersect|ignore] [--host 127.0.0.1] [--port 8000]
#                          [--token-file FILE] [--systemd]
#
# Binding anything but loopback needs the token (the server refuses otherwise); prefer loopback
# plus an SSH tunnel or a TLS reverse proxy, since the token travels in clear over plain HTTP.
# The command: WARDEN_BIN if set, else the build beside this script (node ../dist/cli/main.js: a
# clone after `npm ci`, or the installed package), else `warden` on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

host=127.0.0.1
port=8000
state="${XDG_CONFIG_HOME:-$HOME/.config}/mcp-warden"
token_file="$state/token"
systemd=0
serve_args=()

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root|--read-only|--policy|--allow|--backend|--audit-log|--client-roots)
      [ $# -ge 2 ] || { echo "deploy-http: $1 needs a value" >&2; exit 2; }
      serve_args+=("$1" "$2"); shift 2 ;;
    --host|--port|--token-file)
      [ $# -ge 2 ] || { echo "deploy-http: $1 needs a value" >&2; exit 2; }
      case "$1" in --host) host="$2" ;; --port) port="$2" ;; --token-file) token_file="$2" ;; esac
      shift 2 ;;
    --systemd) systemd=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "deploy-http: unknown option $1" >&2; usage 2 ;;
  esac
done

if [ -n "${WARDEN_BIN:-}" ]; then
  read -r -a warden <<<"$WARDEN_BIN"
elif [ -f "$here/../dist/cli/main.js" ] && command -v node >/dev/null 2>&1; then
  warden=("$(command -v node)" "$(cd "$here/.." && pwd)/dist/cli/main.js")
elif command -v warden >/dev/null 2>&1; then
  warden=("$(command -v warden)")
else
  echo "deploy-http: no warden to run: $(cd "$here/.." && pwd)/dist/cli/main.js is missing (run \`npm ci\` in $(cd "$here/.." && pwd)), there is no \`warden\` on PATH, and WARDEN_BIN is not set" >&2
  exit 2
fi

mkdir -p "$state"
if [ ! -s "$token_file" ]; then
  mkdir -p "$(dirname "$token_file")"
  (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file"; echo >>"$token_file")
  echo "deploy-http: new token in $token_file"
fi
chmod 600 "$token_file"

cmd=("${warden[@]}" serve --http --host "$host" --port "$port" --token-file "$token_file" "${serve_args[@]}")
url_host="$host"
case "$host" in 0.0.0.0|::|"[::]") url_host=127.0.0.1 ;; *:*) url_host="[$host]" ;; esac
url="http://$url_host:$port"

if [ "$systemd" = 1 ]; then
  unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  mkdir -p "$unit_dir"
  quoted=$(printf '%q ' "${cmd[@]}")
  cat >"$unit_dir/mcp-warden.service" <<EOF
[Unit]
Description=mcp-warden MCP server (Streamable HTTP on $host:$port)
After=network.target

[Service]
ExecStart=/usr/bin/env bash -c 'exec $quoted'
WorkingDirectory=$PWD
Restart=on-failure
# SIGTERM lets running calls finish for up to 10 s.
TimeoutStopSec=20
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=default.target
EOF
  systemctl --user daemon-reload
  systemctl --user enable --now mcp-warden.service
  echo "deploy-http: systemd user service mcp-warden started (journalctl --user -u mcp-warden)"
else
  log="$state/serve-http.log"
  nohup "${cmd[@]}" >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$state/serve-http.pid"
  echo "deploy-http: started pid $pid, log $log (stop: kill \$(cat $state/serve-http.pid))"
fi

# Node is there anyway (warden needs it); curl may not be.
health() { node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()); }).catch(() => process.exit(1))' "$url/health"; }

for _ in $(seq 1 60); do
  if body=$(health 2>/dev/null); then
    echo "deploy-http: healthy: $body"
    cat <<EOF

MCP endpoint: $url/mcp   (REST: $url/api/v1, OpenAPI: $url/api/v1/openapi.json)
Token: $token_file

OpenCode (opencode.json; start OpenCode with WARDEN_TOKEN=\$(cat $token_file)):
  "mcp": { "warden": { "type": "remote", "url": "$url/mcp", "oauth": false, "enabled": true,
                        "headers": { "Authorization": "Bearer {env:WARDEN_TOKEN}" } } }
Claude Code:
  claude mcp add --transport http warden $url/mcp --header "Authorization: Bearer \$(cat $token_file)"
EOF
    exit 0
  fi
  if [ "$systemd" = 0 ] && ! kill -0 "$pid" 2>/dev/null; then
    echo "deploy-http: the server exited; last log lines:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "deploy-http: no answer from $url/health after 30 s" >&2
exit 1
