#!/usr/bin/env bash
# upgrade.sh NEW_BUNDLE.tar.gz — upgrades an installation with no network: verify the new bundle,
# stop the server, back the database up with the CURRENT release, unpack, migrate with the new
# release, switch `current` (keeping `previous`), start, health-check. When the new release fails
# (migration or /healthz), it is stopped, the database is restored from that backup, `current`
# goes back to the old release, which is started and checked again.
# Exit codes: 0 upgraded, 1 refused or failed before anything changed, 2 usage,
#             3 failed and rolled back, 4 failed and the rollback failed too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

usage() {
  cat <<'EOF'
使い方: upgrade.sh 新しいバンドル.tar.gz [--prefix DIR] [--data-dir DIR] [--config-dir DIR]
                  [--port N] [--host ADDR] [--systemd [--unit NAME]] [--backup-dir DIR]
                  [--keep N] [--health-timeout SEC] [--stop-timeout SEC] [--bin-dir DIR]
  省略したオプションは前回の install.sh / upgrade.sh の値 (<prefix>/install.conf) を使います。
  既定: --backup-dir /var/backups/madoguchi --keep 3 (残すリリースの数) --health-timeout 60
EOF
}

parse_options "$@"
[ ${#ARGS[@]} -eq 1 ] || { usage >&2; exit 2; }
archive="$(abspath "${ARGS[0]}")"
[ -f "$archive" ] || die "バンドルがありません: $archive"
take_lock

old="$(link_version current || true)"
[ -n "$old" ] && [ -d "$PREFIX/releases/$old" ] || die "$PREFIX にまどぐちがインストールされていません。先に install.sh を使ってください"
old_rel="$PREFIX/releases/$old"
run_as_data_owner
prev_before="$(link_version previous || true)"

# --- 1. the new bundle: archive checksum, unpack beside the releases, manifest --------------
if [ -f "$archive.sha256" ]; then
  expected="$(cut -d' ' -f1 <"$archive.sha256")"
  actual="$(sha256sum "$archive" | cut -d' ' -f1)"
  [ "$expected" = "$actual" ] || die "アーカイブの SHA-256 が $archive.sha256 と一致しません (コピーの途中で壊れた可能性があります)"
  say "アーカイブの SHA-256 一致: $actual"
else
  say "注意: $archive.sha256 がないため、アーカイブ全体の照合は省略します (中身は manifest.json で照合します)"
fi
incoming="$PREFIX/releases/.incoming-$$"
trap 'rm -rf "$incoming"' EXIT
mkdir -p "$incoming"
say "展開しています…"
tar -xzf "$archive" -C "$incoming" --no-same-owner || die "アーカイブを展開できません: $archive"
tops=("$incoming"/madoguchi-*)
[ ${#tops[@]} -eq 1 ] && [ -d "${tops[0]}" ] || die "まどぐちのバンドルではありません (最上位に madoguchi-<版> フォルダーが 1 つだけあるはずです)"
new="$(manifest_version "${tops[0]}")"
[ -n "$new" ] && [ "$(basename "${tops[0]}")" = "madoguchi-$new" ] || die "manifest.json の版とフォルダー名が一致しません: $(basename "${tops[0]}")"
[ "$new" != "$old" ] || die "まどぐち $new は既に動いている版です"
bash "${tops[0]}/verify.sh" "${tops[0]}" || die "新しいバンドルの検査に失敗しました。何も変更していません"
new_rel="$PREFIX/releases/$new"
say "まどぐち $old → $new に更新します"

# --- 2. stop, then back up with the current release -----------------------------------------
# The backup is taken after the stop so that nothing written in between is lost by a rollback.
was_running=0
{ [ "$SYSTEMD" = 1 ] || [ -n "$(running_pid)" ]; } && was_running=1
stop_server
BACKUP_PATH=
DB_FILE="$(helper "$old_rel" db-file "$CONFIG_DIR" "$DATA_DIR" || true)"
take_backup() {
  owned_dir "$BACKUP_DIR"
  if madoguchi "$old_rel" backup now --help >/dev/null 2>&1; then
    local out line
    out="$(madoguchi "$old_rel" backup now --to "$BACKUP_DIR")" || return 1
    while IFS= read -r line; do [ -n "$line" ] && [ -e "$line" ] && BACKUP_PATH="$line"; done <<<"$out"
    [ -n "$BACKUP_PATH" ] || { say "madoguchi backup now の出力にバックアップの場所がありません"; return 1; }
    say "バックアップ (madoguchi backup now): $BACKUP_PATH"
  else
    # Stand-in for a release without `madoguchi backup now`: the SQLite backup API through the
    # release's own better-sqlite3. SQL Server needs `madoguchi backup now` (BACKUP DATABASE).
    case "$DB_FILE" in
      /*) ;;
      *) say "この版には madoguchi backup now がなく、SQL Server のバックアップを取れません"; return 1 ;;
    esac
    if [ ! -f "$DB_FILE" ]; then
      say "データベースがまだないため、バックアップは不要です ($DB_FILE)"
      return 0
    fi
    BACKUP_PATH="$BACKUP_DIR/pre-upgrade-$old-to-$new-$(date +%Y%m%d-%H%M%S).sqlite"
    helper "$old_rel" sqlite-backup "$DB_FILE" "$BACKUP_PATH" >/dev/null || return 1
    say "バックアップ (SQLite バックアップ API): $BACKUP_PATH"
  fi
}
if ! take_backup; then
  if [ "$was_running" = 1 ] && [ "$START" = 1 ]; then
    start_server "$old"
    wait_healthy "$old_rel" || say "警告: まどぐち $old も正常に起動しません: $(server_log "$old")"
  fi
  die "更新前のバックアップに失敗したため、更新を中止しました (まどぐち $old のまま)"
fi

# --- rollback: the new release failed; put the database and `current` back ------------------
rollback() {
  set +e # every step is tried and reported; nothing here may end the script early
  local reason="$1"
  say ""
  say "更新に失敗しました: $reason"
  say "まどぐち $old に戻します…"
  stop_server
  local restored=1
  if [ -z "$BACKUP_PATH" ]; then
    # There was no database before the upgrade: remove what the new release created.
    case "$DB_FILE" in /*) rm -f -- "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm" ;; esac
  elif madoguchi "$old_rel" restore --help >/dev/null 2>&1; then
    # The documented restore: verifies the backup, keeps the failed release's database aside.
    madoguchi "$old_rel" restore "$BACKUP_PATH" || restored=0
  else
    helper "$old_rel" sqlite-restore "$BACKUP_PATH" "$DB_FILE" >/dev/null || restored=0
  fi
  switch_link current "releases/$old"
  if [ -n "$prev_before" ]; then switch_link previous "releases/$prev_before"; else rm -f "$PREFIX/previous"; fi
  local failed_log
  if [ "$SYSTEMD" = 1 ]; then failed_log="journalctl -u $UNIT"; else failed_log="$(server_log "$new")"; fi
  # The old release is known to be good: give it at least 60 s (a short --health-timeout meant for
  # the new release must not turn a working rollback into "the rollback failed").
  [ "$HEALTH_TIMEOUT" -ge 60 ] || HEALTH_TIMEOUT=60
  if [ "$restored" = 1 ] && start_server "$old" && wait_healthy "$old_rel"; then
    cat >&2 <<EOF

まどぐち $new への更新は失敗したため、自動的に $old に戻しました (ロールバック)。
  原因       : $reason
  失敗した版のログ: $failed_log
  データベース: 更新前のバックアップから戻しました (${BACKUP_PATH:-更新前はデータベースなし})
  動いている版: $old ($PREFIX/current)。失敗した版は $new_rel に残しています。
  ログを保存して、保守業者に連絡してください。
EOF
    exit 3
  fi
  cat >&2 <<EOF

重大: まどぐち $new への更新に失敗し、$old に戻す処理も完了しませんでした。
  データベースの復元: $([ "$restored" = 1 ] && echo 完了 || echo 失敗) (バックアップ: ${BACKUP_PATH:-なし})
  ログ: $failed_log / $(server_log "$old")
  すぐに保守業者に連絡してください (docs/operations.md §2.6「ロールバックにも失敗したとき」)。
EOF
  exit 4
}

# --- 3. place, migrate, switch, start, check ---------------------------------------------------
rm -rf "$new_rel"
mv -T "${tops[0]}" "$new_rel"
touch "$new_rel"
say "データベースのマイグレーション (まどぐち $new)…"
madoguchi "$new_rel" migrate || rollback "マイグレーションに失敗しました"

switch_link previous "releases/$old"
switch_link current "releases/$new"
save_install_conf
install_wrapper

if [ "$START" = 1 ]; then
  start_server "$new"
  wait_healthy "$new_rel" || rollback "$HEALTH_TIMEOUT 秒以内に /healthz が正常 (200, status ok) になりませんでした"
  state="起動しています ($(helper "$new_rel" health-url "$CONFIG_DIR" "$HOST" "$PORT") → ok)"
else
  state="起動していません (--no-start)"
fi
prune_releases

cat <<EOF

まどぐち $old → $new の更新が完了しました。
  current    : $new_rel
  previous   : $old_rel (手動で戻すときの手順は docs/operations.md §2)
  バックアップ: ${BACKUP_PATH:-なし (更新前はデータベースなし)}
  サーバー   : $state
  残したリリース: $(cd "$PREFIX/releases" && ls -1t | tr '\n' ' ')
EOF
