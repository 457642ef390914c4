#!/usr/bin/env bash
# install.sh — installs the madoguchi release this script belongs to (the unpacked bundle),
# with no network: verify, copy to <prefix>/releases/<version>, default config when absent,
# migrate, switch `current`, start, wait for /healthz. See docs/operations.md §2.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"

usage() {
  cat <<'EOF'
使い方: install.sh [--prefix DIR] [--data-dir DIR] [--config-dir DIR] [--port N] [--host ADDR]
                  [--no-start] [--systemd [--unit NAME]] [--health-timeout SEC] [--stop-timeout SEC]
                  [--bin-dir DIR]
  既定: --prefix /opt/madoguchi --data-dir /var/lib/madoguchi --config-dir /etc/madoguchi
        --port 8080 --host 127.0.0.1 --health-timeout 60 --bin-dir /usr/local/bin
  --systemd   起動・停止を systemctl (ユニット madoguchi) で行う。ユニットが無ければ同梱の
              systemd/madoguchi.service を /etc/systemd/system に置く。
              --systemd なしでは nohup でバックグラウンド起動
  --bin-dir   コマンド madoguchi (<prefix>/current/bin/madoguchi へのリンク) を置くフォルダー
  --no-start  インストールとマイグレーションだけ行い、起動しない
  版を上げるときは upgrade.sh を使ってください。
EOF
}

parse_options "$@"
[ ${#ARGS[@]} -eq 0 ] || die "余分な引数です: ${ARGS[*]}" 2
version="$(manifest_version "$here")"
[ -n "$version" ] || die "$here/manifest.json から版を読めません"
say "まどぐち $version をインストールします ($PREFIX)"

bash "$here/verify.sh" "$here"

mkdir -p "$PREFIX/releases"
take_lock
installed="$(link_version current || true)"
if [ -n "$installed" ] && [ "$installed" != "$version" ]; then
  die "既に まどぐち $installed がインストールされています。版を上げるには upgrade.sh を使ってください"
fi

release="$PREFIX/releases/$version"
if [ "$(cd "$here" && pwd -P)" = "$(cd "$release" 2>/dev/null && pwd -P)" ]; then
  say "リリースは配置済みです: $release"
elif [ "$installed" = "$version" ]; then
  say "まどぐち $version は配置済みです (current): $release"
else
  rm -rf "$PREFIX/releases/.incoming-$version"
  cp -a "$here" "$PREFIX/releases/.incoming-$version"
  rm -rf "$release"
  mv -T "$PREFIX/releases/.incoming-$version" "$release"
  touch "$release"
  say "配置しました: $release"
fi

mkdir -p "$DATA_DIR"
run_as_data_owner
if [ -d "$CONFIG_DIR" ] && [ -n "$(ls -A "$CONFIG_DIR" 2>/dev/null)" ]; then
  say "既存の設定をそのまま使います (上書きしません): $CONFIG_DIR"
else
  mkdir -p "$CONFIG_DIR"
  cp -a "$release/config/." "$CONFIG_DIR/"
  say "既定の設定をコピーしました: $CONFIG_DIR (municipality.yaml を団体に合わせて編集してください)"
fi

say "データベースのマイグレーション…"
madoguchi "$release" migrate

switch_link current "releases/$version"
save_install_conf
install_wrapper
[ "$SYSTEMD" = 1 ] && install_unit "$release"

if [ "$START" = 1 ]; then
  stop_server
  start_server "$version"
  if ! wait_healthy "$release"; then
    stop_server
    die "まどぐち $version が起動しませんでした。ログを確認してください: $( [ "$SYSTEMD" = 1 ] && echo "journalctl -u $UNIT" || server_log "$version")"
  fi
  state="起動しています ($(helper "$release" health-url "$CONFIG_DIR" "$HOST" "$PORT") → ok)"
else
  state="起動していません (--no-start)"
fi

cat <<EOF

まどぐち $version のインストールが完了しました。
  リリース   : $release  (current)
  設定       : $CONFIG_DIR
  データ     : $DATA_DIR
  サーバー   : $state
  ログ       : $( [ "$SYSTEMD" = 1 ] && echo "journalctl -u $UNIT と $DATA_DIR/logs/" || echo "$(server_log "$version") と $DATA_DIR/logs/")
  コマンド   : $BIN_DIR/madoguchi (→ $PREFIX/current/bin/madoguchi)
  版の更新   : $PREFIX/current/upgrade.sh 新しいバンドル.tar.gz

最初のシステム管理者を作ってください (初期パスワードが 1 回だけ表示されます):
  sudo -u $(stat -c %U "$DATA_DIR") madoguchi staff add-admin <ログインID>
EOF
