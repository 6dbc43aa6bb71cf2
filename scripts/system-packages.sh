#!/usr/bin/env bash
# The operating-system packages the report needs, installed when missing (Debian/Ubuntu, as root):
# pango and fonts for WeasyPrint's PDF, Chromium for the browser tests (driven by playwright
# with this executable: no browser download), poppler-utils for the PDF page images and text.
#   scripts/system-packages.sh          # everything the tests need (.ci/run)
#   scripts/system-packages.sh report   # only what rendering the PDF needs (scripts/demo.sh)
set -euo pipefail
need=()
if [ "${1:-test}" != report ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
  # Spark 4 runs on Java 17 or newer: `java -version` prints e.g. 'openjdk version "17.0.15"'.
  java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)
  [ "${java_major:-0}" -ge 17 ] 2>/dev/null || need+=(openjdk-17-jre-headless)
fi
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi 'DejaVu Sans' || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${need[*]} (install them with your package manager)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
