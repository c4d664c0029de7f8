#!/usr/bin/env bash
# Build the one-folder bundle into packaging/dist/gmm-studio and run its self-test.
# Needs: pip install -e '.[bundle]' (PyInstaller). Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")"
python -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build gmm-studio.spec
QT_QPA_PLATFORM=offscreen ./dist/gmm-studio/gmm-studio --self-test
du -sh dist/gmm-studio
