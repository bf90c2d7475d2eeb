#!/usr/bin/env bash
# Set up reglab in ./.venv on a fresh machine.
#   bash scripts/setup.sh         what `reglab study` needs: PyTorch's CPU wheel, then reglab's core
#   bash scripts/setup.sh --all   everything the tests need: every extra (lab, tabular, mnist5k, ray,
#                                 augment, lightning, transformers, tracking, tune), the test tools and, when
#                                 root, Debian's Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
PY=${PYTHON:-python3}
case "${1:-}" in
  "") extras="" ;;
  --all) extras="[all,test]" ;;
  *) echo "setup.sh: unknown option '$1' (expected nothing or --all)" >&2; exit 2 ;;
esac
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch==2.13.0 must come first: a looser spec would pull a multi-GB CUDA build. Every later install
# repeats the pin so the resolver keeps this wheel.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q "torch==2.13.0" -e ".${extras}"
if [ -n "$extras" ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "setup: could not install chromium; browser tests will be skipped outside CI" >&2
fi
