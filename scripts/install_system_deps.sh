#!/usr/bin/env bash
# Make sure the Debian packages that browser tests and screenshots need are present:
#   - chromium        -> /usr/bin/chromium, launched by Playwright via executable_path
#                        (`playwright install` cannot download browsers here; never call it)
#   - fonts-noto-cjk  -> Chinese glyphs instead of tofu boxes in screenshots
#   - fontconfig      -> provides fc-list, used to verify the fonts
#
# Idempotent: when everything is present it prints one line and exits 0.
# As root it installs what is missing with apt-get; as a normal user it prints the
# exact command to run and exits 0 (browser tests skip themselves without chromium).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium fonts-noto-cjk fontconfig)

have_chromium() { [[ -x "$CHROMIUM" ]]; }

have_cjk_fonts() {
  if command -v fc-list >/dev/null 2>&1 && [[ -n "$(fc-list :lang=zh family 2>/dev/null)" ]]; then
    return 0
  fi
  dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'install ok installed'
}

missing() {
  local m=()
  have_chromium || m+=("chromium")
  have_cjk_fonts || m+=("fonts-noto-cjk")
  echo "${m[*]}"
}

todo="$(missing)"
if [[ -z "$todo" ]]; then
  echo "system deps OK: $CHROMIUM and Noto CJK fonts present"
  exit 0
fi

apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES[*]}"

if [[ "$(id -u)" -ne 0 ]]; then
  cat >&2 <<MSG
system deps missing: $todo
Not running as root, so not installing. To install them run:
  sudo sh -c '$apt_cmd'
Until then, browser (Playwright) tests will be skipped.
MSG
  exit 0
fi

echo "system deps missing: $todo -> installing with apt-get (takes a minute or two)"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
echo "apt-get install finished in $((SECONDS - start))s"

todo="$(missing)"
if [[ -n "$todo" ]]; then
  echo "ERROR: still missing after apt-get install: $todo" >&2
  exit 1
fi
echo "system deps OK: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"), $(fc-list :lang=zh family | sort -u | head -n 1)"
