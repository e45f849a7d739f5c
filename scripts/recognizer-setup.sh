#!/usr/bin/env bash
# Installs the local recognizer (TRANSCRIBER_BACKEND=local) from Debian packages: pocketsphinx's libraries,
# its US English model and the LibriVox test clips the tests stream. Idempotent: installs only what is missing.
# Exit 0 when everything is installed; 2 when it cannot install here (not root, or no apt-get), with the
# command that would.
set -euo pipefail
PACKAGES=(libpocketsphinx3 pocketsphinx-en-us pocketsphinx-testdata)
FILES=(
  /usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3
  /usr/share/pocketsphinx/model/en-us/en-us.lm.bin
  /usr/share/pocketsphinx/test/data/librivox/transcription
)

missing=0
for file in "${FILES[@]}"; do [ -e "$file" ] || missing=1; done
if [ "$missing" -eq 0 ]; then
  echo "[recognizer] pocketsphinx en-us and its test clips are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "[recognizer] cannot install here (needs root and apt-get); on Debian run: sudo apt-get install -y ${PACKAGES[*]}"
  exit 2
fi

echo "[recognizer] installing ${PACKAGES[*]} from Debian packages"
# A fresh machine's package lists may be empty or stale: install, and update only if that fails.
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi
for file in "${FILES[@]}"; do
  [ -e "$file" ] || { echo "[recognizer] installed, but $file is still missing"; exit 1; }
done
echo "[recognizer] ready: pocketsphinx en-us ($(dpkg-query -W -f '${Version}' libpocketsphinx3))"
