#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for imagine-bot: redis-server, a virtualenv, the package.
# Idempotent: run it again at any time. Extras: IMAGINE_EXTRAS (default "openai,discord,slack,gpu,test").
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
    echo "setup: installing redis-server" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# The CPU build of torch first: left to the gpu extra, pip would pull a multi-GB CUDA build.
# On a CUDA machine, install the CUDA build of torch before running this script.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    "${pip[@]}" "torch==${IMAGINE_TORCH_VERSION:-2.13.0}"
fi
"${pip[@]}" -e ".[${IMAGINE_EXTRAS:-openai,discord,slack,gpu,test}]"
