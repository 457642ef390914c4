#!/usr/bin/env bash
# verify.sh [DIR] — checks a madoguchi release folder (default: the one holding this script)
# against its manifest.json: every file's SHA-256, no file missing or added, every link's target,
# and that the bundled node runs. Needs only bash, sed, coreutils and find (no node, no jq).
set -euo pipefail
export LC_ALL=C

dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
manifest="$dir/manifest.json"
fail() { printf '検査失敗 (%s): %s\n' "$dir" "$1" >&2; exit 1; }
[ -f "$manifest" ] || fail "manifest.json がありません"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# renderManifest() writes one entry per line in a fixed key order; paths never need JSON escapes.
sed -n 's/^    {"path":"\(.*\)","size":[0-9]*,"sha256":"\([0-9a-f]\{64\}\)"},\{0,1\}$/\2  \1/p' "$manifest" >"$work/sums"
sed -n 's/^    {"path":"\(.*\)","target":"\(.*\)"},\{0,1\}$/\1\t\2/p' "$manifest" >"$work/links"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$manifest")"
expected="$(sed -n 's/^  "fileCount": \([0-9]*\),$/\1/p' "$manifest")"
node_version="$(sed -n 's/^  "node": "\(.*\)",$/\1/p' "$manifest")"
listed="$(wc -l <"$work/sums")"
[ -n "$expected" ] && [ "$listed" -eq "$expected" ] || fail "manifest.json の形式が正しくありません (ファイル一覧 $listed 件, fileCount ${expected:-なし})"

if ! (cd "$dir" && sha256sum --quiet --strict -c "$work/sums") >"$work/bad" 2>&1; then
  printf '改ざんまたは破損しているファイルがあります (%s):\n' "$dir" >&2
  sed 's/^/  /' "$work/bad" | head -n 50 >&2
  exit 1
fi

cut -c67- "$work/sums" | sort >"$work/listed"
(cd "$dir" && find . -type f ! -path ./manifest.json -printf '%P\n' | sort) >"$work/present"
extra="$(comm -13 "$work/listed" "$work/present")"
[ -z "$extra" ] || fail "manifest.json にないファイルがあります: $(printf '%s' "$extra" | head -n 10 | tr '\n' ' ')"

links=0
while IFS=$'\t' read -r link target; do
  [ -n "$link" ] || continue
  actual="$(readlink "$dir/$link" 2>/dev/null || true)"
  [ "$actual" = "$target" ] || fail "リンク $link の向き先が違います (期待 $target, 実際 ${actual:-なし})"
  links=$((links + 1))
done <"$work/links"
present_links="$(cd "$dir" && find . -type l | wc -l)"
[ "$present_links" -eq "$links" ] || fail "manifest.json にないリンクがあります ($present_links 個, manifest $links 個)"

actual_node="$("$dir/node/bin/node" --version 2>/dev/null || true)"
[ "$actual_node" = "$node_version" ] || fail "同梱の Node.js が動きません (期待 $node_version, 実際 ${actual_node:-起動できず})"

printf '検査 OK: まどぐち %s — %s ファイルの SHA-256 が一致、リンク %s 個、Node.js %s\n' "$version" "$listed" "$links" "$actual_node"
