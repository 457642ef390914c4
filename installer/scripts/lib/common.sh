# shellcheck shell=bash
# Shared by install.sh and upgrade.sh (sourced, never run). Installed layout (every path under
# --prefix): releases/<version>/, current -> releases/<version>, previous -> the release before,
# install.conf (the options of the last install/upgrade, read back as defaults).
# <bin-dir>/madoguchi -> <prefix>/current/bin/madoguchi: the command on the PATH.

PREFIX=/opt/madoguchi
DATA_DIR=/var/lib/madoguchi
CONFIG_DIR=/etc/madoguchi
PORT=8080
HOST=127.0.0.1
SYSTEMD=0
UNIT=madoguchi
BACKUP_DIR=/var/backups/madoguchi
KEEP=3
HEALTH_TIMEOUT=60
STOP_TIMEOUT=45
BIN_DIR=/usr/local/bin
START=1
SERVER_PID=

say() { printf '%s\n' "$*"; }
die() {
  printf 'エラー: %s\n' "$1" >&2
  exit "${2:-1}"
}

manifest_version() { sed -n 's/^  "version": "\(.*\)",$/\1/p' "$1/manifest.json"; }

# Options common to both scripts; anything else is left in ARGS for the caller.
declare -A OPT=()
ARGS=()
parse_options() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --prefix | --data-dir | --config-dir | --port | --host | --unit | --backup-dir | --keep | --health-timeout | --stop-timeout | --bin-dir)
        [ $# -ge 2 ] || die "$1 に値がありません" 2
        OPT[$1]="$2"
        shift 2
        ;;
      --systemd) OPT[--systemd]=1; shift ;;
      --no-start) OPT[--no-start]=1; shift ;;
      -h | --help) usage; exit 0 ;;
      -*) die "知らないオプションです: $1 (--help で一覧)" 2 ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  [ -n "${OPT[--prefix]:-}" ] && PREFIX="${OPT[--prefix]}"
  PREFIX="$(abspath "$PREFIX")"
  # What the last install/upgrade used, so that an upgrade needs no options repeated.
  # shellcheck disable=SC1091
  [ -f "$PREFIX/install.conf" ] && . "$PREFIX/install.conf"
  [ -n "${OPT[--data-dir]:-}" ] && DATA_DIR="${OPT[--data-dir]}"
  [ -n "${OPT[--config-dir]:-}" ] && CONFIG_DIR="${OPT[--config-dir]}"
  [ -n "${OPT[--port]:-}" ] && PORT="${OPT[--port]}"
  [ -n "${OPT[--host]:-}" ] && HOST="${OPT[--host]}"
  [ -n "${OPT[--unit]:-}" ] && UNIT="${OPT[--unit]}"
  [ -n "${OPT[--backup-dir]:-}" ] && BACKUP_DIR="${OPT[--backup-dir]}"
  [ -n "${OPT[--keep]:-}" ] && KEEP="${OPT[--keep]}"
  [ -n "${OPT[--health-timeout]:-}" ] && HEALTH_TIMEOUT="${OPT[--health-timeout]}"
  [ -n "${OPT[--stop-timeout]:-}" ] && STOP_TIMEOUT="${OPT[--stop-timeout]}"
  [ -n "${OPT[--bin-dir]:-}" ] && BIN_DIR="${OPT[--bin-dir]}"
  [ -n "${OPT[--systemd]:-}" ] && SYSTEMD=1
  # shellcheck disable=SC2034 # read by install.sh and upgrade.sh
  [ -n "${OPT[--no-start]:-}" ] && START=0
  DATA_DIR="$(abspath "$DATA_DIR")"
  CONFIG_DIR="$(abspath "$CONFIG_DIR")"
  BACKUP_DIR="$(abspath "$BACKUP_DIR")"
  BIN_DIR="$(abspath "$BIN_DIR")"
  [[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -le 65535 ] || die "--port は 0〜65535 の整数です" 2
  [[ "$KEEP" =~ ^[0-9]+$ ]] && [ "$KEEP" -ge 2 ] || die "--keep は 2 以上の整数です (current と previous を残すため)" 2
  [[ "$HEALTH_TIMEOUT" =~ ^[0-9]+$ ]] || die "--health-timeout は秒数です" 2
  [[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "--stop-timeout は秒数です" 2
  return 0
}

abspath() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

save_install_conf() {
  {
    echo "# まどぐち install.sh / upgrade.sh が書いた設定 (次回の upgrade.sh の既定値)"
    for v in DATA_DIR CONFIG_DIR PORT HOST SYSTEMD UNIT BACKUP_DIR KEEP HEALTH_TIMEOUT STOP_TIMEOUT BIN_DIR; do
      printf '%s=%q\n' "$v" "${!v}"
    done
  } >"$PREFIX/install.conf.tmp"
  mv -f "$PREFIX/install.conf.tmp" "$PREFIX/install.conf"
}

# Only one install/upgrade at a time per prefix.
take_lock() {
  mkdir -p "$PREFIX"
  exec 9>"$PREFIX/.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -n 9 || die "別のインストール・更新が実行中です ($PREFIX/.lock)"
  fi
}

# Run as root for a data directory that belongs to the service user (as Ansible sets it up), the
# CLI, the helper and the server run as that user, so that the database, backups and logs they
# write stay the service's own.
# setpriv execs the command itself (no fork), so $! stays the server's pid.
RUN_AS=()
DATA_OWNER=
run_as_data_owner() {
  RUN_AS=()
  DATA_OWNER=
  [ "$(id -u)" = 0 ] && [ -d "$DATA_DIR" ] || return 0
  local uid gid
  uid="$(stat -c %u "$DATA_DIR")"
  gid="$(stat -c %g "$DATA_DIR")"
  if [ "$uid" != 0 ]; then
    DATA_OWNER="$uid:$gid"
    # Its supplementary groups too (e.g. one that may read the TLS key).
    if getent passwd "$uid" >/dev/null; then
      RUN_AS=(setpriv --reuid="$uid" --regid="$gid" --init-groups)
    else
      RUN_AS=(setpriv --reuid="$uid" --regid="$gid" --clear-groups)
    fi
  fi
  return 0
}

# A folder the CLI or the server writes into; made by root, so handed to the data owner.
owned_dir() {
  [ -d "$1" ] && return 0
  mkdir -p "$1"
  [ -z "$DATA_OWNER" ] || chown "$DATA_OWNER" "$1"
}

# madoguchi CLI of a release folder, with the locations of this installation.
madoguchi() {
  local rel="$1"
  shift
  "${RUN_AS[@]}" "$rel/node/bin/node" --max-old-space-size=192 "$rel/app/server/bin/madoguchi.js" "$@" --data-dir "$DATA_DIR" --config "$CONFIG_DIR"
}

helper() {
  local rel="$1"
  shift
  "${RUN_AS[@]}" "$rel/node/bin/node" "$rel/lib/helper.mjs" "$@"
}

# The `madoguchi` command on the PATH: a link to current/bin/madoguchi, so that upgrades and
# rollbacks (which switch `current`) move it too. A file of another origin is left alone.
install_wrapper() {
  local link="$BIN_DIR/madoguchi"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    say "警告: $link は まどぐちのリンクではないため置き換えません (コマンド madoguchi は $PREFIX/current/bin/madoguchi です)"
    return 0
  fi
  mkdir -p "$BIN_DIR"
  ln -sfn "$PREFIX/current/bin/madoguchi" "$BIN_DIR/.madoguchi.new"
  mv -T "$BIN_DIR/.madoguchi.new" "$link"
}

# The release's systemd/madoguchi.service with this installation's values, on stdout.
# Args: template user group. The port decides whether the unit may bind below 1024.
render_unit() {
  local text caps
  shopt -u patsub_replacement 2>/dev/null || true # an & in a path stays an &
  text="$(cat "$1")"
  if [ "$PORT" -lt 1024 ]; then
    caps=$'# Ports below 1024 without running as root.\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE'
  else
    caps='CapabilityBoundingSet='
  fi
  text="${text//@PREFIX@/$PREFIX}"
  text="${text//@DATA_DIR@/$DATA_DIR}"
  text="${text//@CONFIG_DIR@/$CONFIG_DIR}"
  text="${text//@BACKUP_DIR@/$BACKUP_DIR}"
  text="${text//@HOST@/$HOST}"
  text="${text//@PORT@/$PORT}"
  text="${text//@STOP_TIMEOUT@/$STOP_TIMEOUT}"
  text="${text//@USER@/$2}"
  text="${text//@GROUP@/$3}"
  text="${text//@CAPABILITIES@/$caps}"
  printf '%s\n' "$text"
}

# --systemd without a unit (no Ansible): writes the bundled unit, runs as the data folder's owner.
install_unit() {
  local rel="$1" dir=/etc/systemd/system user group
  systemctl cat "$UNIT" >/dev/null 2>&1 && return 0
  command -v systemctl >/dev/null 2>&1 || die "systemctl がありません (--systemd を外してください)"
  [ "$(id -u)" = 0 ] || die "ユニット $UNIT.service を置くには root で実行してください"
  if [ -z "$DATA_OWNER" ]; then
    die "データフォルダー $DATA_DIR の所有者が root です。サービス用のユーザーを作って所有者にしてから、もう一度実行してください:
  useradd --system --user-group --home-dir $DATA_DIR --shell /usr/sbin/nologin madoguchi
  install -d -o madoguchi -g madoguchi -m 0750 $DATA_DIR"
  fi
  user="$(getent passwd "${DATA_OWNER%%:*}" | cut -d: -f1)"
  group="$(getent group "${DATA_OWNER##*:}" | cut -d: -f1)"
  [ -n "$user" ] && [ -n "$group" ] || die "データフォルダー $DATA_DIR の所有者 ($DATA_OWNER) がユーザー名・グループ名になりません"
  render_unit "$rel/systemd/madoguchi.service" "$user" "$group" >"$dir/.$UNIT.service.new"
  chmod 0644 "$dir/.$UNIT.service.new"
  mv -f "$dir/.$UNIT.service.new" "$dir/$UNIT.service"
  systemctl daemon-reload
  systemctl enable "$UNIT" >/dev/null 2>&1 || say "警告: systemctl enable $UNIT に失敗しました (起動時の自動起動を確認してください)"
  say "systemd のユニットを置きました: $dir/$UNIT.service (ユーザー $user)"
}

# Switches a link atomically: a new link beside it, renamed over the old one.
switch_link() {
  local name="$1" target="$2"
  ln -sfn "$target" "$PREFIX/.$name.new"
  mv -T "$PREFIX/.$name.new" "$PREFIX/$name"
}

link_version() {
  local t
  t="$(readlink "$PREFIX/$1" 2>/dev/null)" || return 1
  basename "$t"
}

pid_file() { printf '%s/madoguchi.pid\n' "$DATA_DIR"; }

running_pid() {
  local pid
  pid="$(cat "$(pid_file)" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
  return 0
}

server_log() { printf '%s/logs/serve-%s.log\n' "$DATA_DIR" "$1"; }

# Starts the release that `current` points at: systemd when asked for, else in the background
# (own session, output to <data-dir>/logs/serve-<version>.log) as the contract's start command.
start_server() {
  local version="$1"
  if [ "$SYSTEMD" = 1 ]; then
    systemctl cat "$UNIT" >/dev/null 2>&1 || die "systemd のユニット $UNIT.service がありません (Ansible で配置するか、--systemd を外してください)"
    systemctl restart "$UNIT"
    SERVER_PID=
    return 0
  fi
  local log
  log="$(server_log "$version")"
  owned_dir "$DATA_DIR/logs"
  printf '\n===== %s まどぐち %s を起動 =====\n' "$(date '+%F %T')" "$version" >>"$log"
  [ -z "$DATA_OWNER" ] || chown "$DATA_OWNER" "$log"
  (
    exec 9>&- # the server must not keep take_lock's lock after this script ends
    cd "$DATA_DIR" || exit 1
    export MADOGUCHI_PORT="$PORT" MADOGUCHI_HOST="$HOST"
    exec "${RUN_AS[@]}" setsid nohup "$PREFIX/current/node/bin/node" --max-old-space-size=192 "$PREFIX/current/app/server/bin/madoguchi.js" \
      serve --data-dir "$DATA_DIR" --config "$CONFIG_DIR" >>"$log" 2>&1 </dev/null
  ) &
  SERVER_PID=$!
}

# Waits for 200 {"status":"ok"} from /healthz; fails early when the started process died.
wait_healthy() {
  local rel="$1" url
  url="$(helper "$rel" health-url "$CONFIG_DIR" "$HOST" "$PORT")"
  say "稼働確認: $url (最大 $HEALTH_TIMEOUT 秒)"
  helper "$rel" wait-health "$url" "$HEALTH_TIMEOUT" ${SERVER_PID:+"$SERVER_PID"} >/dev/null
}

# SIGTERM (the graceful stop), then SIGKILL to the process group after STOP_TIMEOUT seconds.
stop_server() {
  if [ "$SYSTEMD" = 1 ]; then
    systemctl stop "$UNIT" || true
    return 0
  fi
  local pids=() pid
  pid="$(running_pid)"
  [ -n "$pid" ] && pids+=("$pid")
  [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null && [ "$SERVER_PID" != "$pid" ] && pids+=("$SERVER_PID")
  [ ${#pids[@]} -gt 0 ] || return 0
  for pid in "${pids[@]}"; do
    say "サーバー (pid $pid) を停止しています…"
    kill -TERM "$pid" 2>/dev/null || true
  done
  local waited=0
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
        say "警告: $STOP_TIMEOUT 秒で停止しなかったため強制終了します (pid $pid)"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  done
  SERVER_PID=
}

# Keeps the newest KEEP releases; current and previous are never removed.
prune_releases() {
  local cur prev kept=0 dir name
  cur="$(link_version current || true)"
  prev="$(link_version previous || true)"
  [ -n "$cur" ] && kept=$((kept + 1))
  [ -n "$prev" ] && [ "$prev" != "$cur" ] && kept=$((kept + 1))
  while IFS= read -r dir; do
    name="$(basename "$dir")"
    [ "$name" = "$cur" ] || [ "$name" = "$prev" ] && continue
    if [ "$kept" -lt "$KEEP" ]; then
      kept=$((kept + 1))
    else
      say "古いリリースを削除します: $name"
      rm -rf -- "$PREFIX/releases/$name"
    fi
  done < <(ls -1dt "$PREFIX"/releases/*/ 2>/dev/null | sed 's:/$::')
}
