#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for imagine-bot: redis-server, a virtualenv, the package.
# Idempotent: run it again at any time.
#
#   bash scripts/setup.sh            the main job: the core package (placeholder and openai backends,
#                                    imagine generate/worker/health/doctor); no torch, no chat SDKs
#   bash scripts/setup.sh --gpu      + the diffusers backend (torch and diffusers)
#   bash scripts/setup.sh --test     everything the test suite needs: every extra, CPU torch, and
#                                    Debian's chromium for the web page's browser tests
#
# IMAGINE_EXTRAS=discord,slack adds extras to any of these. Torch: the CPU build of
# torch==$IMAGINE_TORCH_VERSION is installed first, from IMAGINE_TORCH_INDEX when set (e.g.
# https://download.pytorch.org/whl/cpu: the public index's default build is CUDA, gigabytes large).
# On a CUDA machine, install the CUDA build of torch before running this script.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
torch=no
browser=no
for arg in "$@"; do
    case "$arg" in
        --gpu) extras+=(gpu); torch=yes ;;
        --test) extras+=(discord slack gpu s3 test); torch=yes; browser=yes ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done
if [ -n "${IMAGINE_EXTRAS:-}" ]; then
    IFS=',' read -r -a more <<<"$IMAGINE_EXTRAS"
    extras+=("${more[@]}")
    [[ ",$IMAGINE_EXTRAS," == *,gpu,* ]] && torch=yes
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
    echo "setup: installing redis-server" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if [ "$browser" = yes ] && ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing chromium (the web page's browser tests)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# Every version as tested (constraints.txt): the same install here, in CI and in the Docker image.
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt)
# The CPU build of torch first: left to the gpu extra, pip could pull a multi-GB CUDA build.
if [ "$torch" = yes ] && ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    # Not under the constraints: torch's own index (IMAGINE_TORCH_INDEX) need not carry those versions.
    .venv/bin/python -m pip install -q --disable-pip-version-check \
        ${IMAGINE_TORCH_INDEX:+--index-url "$IMAGINE_TORCH_INDEX"} \
        "torch==${IMAGINE_TORCH_VERSION:-2.13.0}"
fi
if [ ${#extras[@]} -gt 0 ]; then
    joined=$(IFS=','; echo "${extras[*]}")
    "${pip[@]}" -e ".[${joined}]"
else
    "${pip[@]}" -e .
fi
