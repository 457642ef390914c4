#!/usr/bin/env bash
# Installs the Debian packages that madoguchi needs for one purpose, when they are missing.
#   build  : what `npm install` needs to compile native modules (better-sqlite3)
#   server : what the running server (the appliance) needs; the bundle carries its own node and
#            compiled modules, so no compiler. The single list: docs/operations.md §2.3 and the
#            Ansible role madoguchi_server (vars/main.yml) must say the same (test/unit/system-deps.test.ts).
#   test   : what the whole test suite needs
# As root it runs apt-get; otherwise it prints the exact command and fails.
#   --list PURPOSE prints the packages, one a line, and changes nothing. The bundle ships this
#   script, so `bash madoguchi-<版>/ensure-system-deps.sh --list server` works on the server.
set -euo pipefail
list=0
if [ "${1:-}" = --list ]; then
  list=1
  shift
fi
purpose="${1:-test}"

build_pkgs=(python3 make g++)
# fonts-ipamj-mincho: IPAmj明朝 (MJ kanji, IVS) for names and addresses on printed forms (45 MB
# installed); fonts-ipaexfont-gothic: the Gothic font for form labels.
# fonts-dejavu-core (2.9 MB): DejaVu Sans for the guide in English, Vietnamese, Portuguese and Filipino;
# fonts-arphic-gbsn00lp (5.0 MB): AR PL SungtiL GB for Simplified Chinese (all GB 2312 hanzi);
# fonts-lexi-gulim (1.5 MB): LexiGulim for Korean (all 11,172 Hangul syllables); fonts-lohit-deva (0.2 MB):
# Lohit Devanagari for Nepali. About 9.6 MB installed together; fonts-noto-cjk would be about 89 MB.
# smartmontools (about 2 MB): smartctl, whose JSON the disk monitor reads (municipality.yaml disks.smart).
# nut-client: upsmon, which hands power events to `madoguchi ups-event` and shuts the host down (§4).
server_pkgs=(openssl fonts-ipamj-mincho fonts-ipaexfont-gothic fonts-dejavu-core fonts-arphic-gbsn00lp fonts-lexi-gulim fonts-lohit-deva nut-client smartmontools)
# chromium: the browser tests drive Debian's Chromium (/usr/bin/chromium) through playwright-core,
# which never downloads a browser of its own. fonts-ipaexfont-gothic: a Japanese font for the
# screenshots (about 6 MB installed; fonts-noto-cjk would be about 90 MB).
# poppler-utils: pdftotext, pdffonts and pdftoppm read the printed PDFs back in the printing tests.
# nut-server, nut-client: the UPS tests run a real upsd with the dummy-ups driver from a temporary
# config directory (NUT_CONFPATH/NUT_STATEPATH; /etc/nut is never touched; about 23 MB installed).
# ansible, ansible-lint: the Ansible test lints ansible/ and applies the server roles to a temporary
# root (ansible 7.7.0 with its collections, ansible-lint 6.13.1; about 340 MB installed with their
# dependencies). nftables: `nft -c` checks the rendered firewall rules (about 1 MB).
# iproute2, util-linux: the bundle test installs and starts the release inside a network namespace
# with only lo (unshare -n, ip link, nsenter, setpriv).
# pcscd, vsmartcard-vpcd: the card reader tests run a real pcscd with the virtual reader driver vpcd
# (in its own mount and network namespace; a fake card in the test speaks vpcd's protocol), and
# pcscd brings libpcsclite1, which the helper calls through koffi (about 1 MB installed with libccid).
# libpcsclite-dev: its headers, against which test/unit/pcsc-types.test.ts compiles the struct layout
# the helper declares (a few hundred KB).
# mdadm: test/integration/disk-md-loop.test.ts builds a real md raid1 on two loop devices (where
# the kernel has the md driver and the tests run as root; skipped otherwise). About 1.5 MB installed.
test_pkgs=(sqlite3 chromium fonts-ipaexfont-gothic fonts-ipamj-mincho poppler-utils nut-server nut-client ansible ansible-lint nftables iproute2 util-linux pcscd vsmartcard-vpcd libpcsclite-dev mdadm)

case "$purpose" in
  build)  wanted=("${build_pkgs[@]}") ;;
  server) wanted=("${server_pkgs[@]}") ;;
  test)   wanted=("${build_pkgs[@]}" "${server_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [--list] build|server|test" >&2; exit 2 ;;
esac

if [ "$list" = 1 ]; then
  printf '%s\n' "${wanted[@]}" | awk 'NF && !seen[$0]++'
  exit 0
fi

missing=()
for p in "${wanted[@]}"; do
  [ -z "$p" ] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # A tool may be present without its Debian package (e.g. python3 from pyenv): accept that.
    if [ "$p" = python3 ] || [ "$p" = make ] || [ "$p" = g++ ] || [ "$p" = sqlite3 ]; then
      command -v "$p" >/dev/null 2>&1 && continue
    fi
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "madoguchi: missing packages (${missing[*]}) and no apt-get: install them by hand." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "madoguchi: these Debian packages are missing: ${missing[*]}" >&2
  echo "Run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "madoguchi: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
