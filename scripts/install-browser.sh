#!/usr/bin/env bash
# Installs what the browser tests of the report need: Debian's chromium (never a browser
# downloaded by puppeteer). Does nothing when a chromium is already on the PATH or named by
# CHROMIUM_PATH. Needs root (or sudo) to install; CI runs it as root from .ci/run.
set -euo pipefail

if [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]]; then
  echo "install-browser: using CHROMIUM_PATH=${CHROMIUM_PATH}"
  exit 0
fi
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "install-browser: $(command -v "$name") is installed"
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no chromium and no apt-get; install chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-browser: installing chromium needs root (or sudo)" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# fonts-dejavu-core: the font the figures name first, so pages and PNGs look as designed.
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install-browser: installed $(command -v chromium) ($(chromium --version 2>/dev/null || echo 'version unknown'))"
