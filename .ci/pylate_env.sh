#!/usr/bin/env bash
# Build a separate CPU-only virtualenv holding PyLate 1.6.0, the seed reference that
# tests/test_pylate_parity.py compares our PyTorch reference and tokenization against.
#
#   bash .ci/pylate_env.sh DIR        # creates DIR (a venv); then
#   COLBERT_EDGE_PYLATE_PYTHON=DIR/bin/python pytest tests/test_pylate_parity.py
#
# Why a separate env: PyLate pins sentence-transformers 5.3.0 and (through fast-plaid) a torch
# that pulls CUDA wheels, and the parity target is the transformers 4.57 semantics LFM2-ColBERT
# was trained with (the main env runs transformers 5.x). So:
#   - torch==2.13.0 (the CPU wheel on this machine's disk) is installed FIRST and pinned after;
#   - transformers==4.57.6, sentence-transformers==5.3.0 and datasets 5.0.1 (pylate.utils imports it)
#     come with their own pure/CPU dependencies;
#   - pylate==1.6.0 with --no-deps: fast-plaid, fastkmeans, accelerate, ninja, ujson are for
#     indexing and training, and pylate.models never imports them.
# The script fails if any nvidia-* / CUDA package got in. Idempotent: an existing env that already
# imports pylate.models at the right versions is kept.
set -euo pipefail

DIR="${1:?usage: bash .ci/pylate_env.sh DIR}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
TORCH_VERSION="2.13.0"

check_env() {
    "$DIR/bin/python" - <<'PY'
import importlib.metadata as md
import sys
want = {"torch": "2.13.0", "transformers": "4.57.6", "sentence-transformers": "5.3.0", "pylate": "1.6.0"}
for name, version in want.items():
    got = md.version(name)
    if not got.split("+")[0] == version:
        sys.exit(f"pylate env: {name} is {got}, expected {version}")
bad = sorted(d.metadata["Name"] for d in md.distributions()
             if d.metadata["Name"].lower().startswith(("nvidia", "cuda", "triton")))
if bad:
    sys.exit(f"pylate env: CUDA packages were installed, refusing: {bad}")
import torch
if torch.version.cuda is not None:
    sys.exit(f"pylate env: torch {torch.__version__} is a CUDA build; expected the CPU wheel")
import pylate.models  # noqa: F401  the import the reference script needs
print(f"pylate env ok: torch {torch.__version__}, transformers {md.version('transformers')}, "
      f"sentence-transformers {md.version('sentence-transformers')}, pylate {md.version('pylate')}")
PY
}

if [ -x "$DIR/bin/python" ] && check_env 2>/dev/null; then
    exit 0
fi

if [ -e "$DIR" ] && [ ! -f "$DIR/pyvenv.cfg" ] && [ -n "$(ls -A "$DIR")" ]; then
    echo "pylate env: $DIR exists and is not a virtualenv; pass a new or empty folder" >&2
    exit 1
fi

start=$(date +%s)
"$PYTHON" -m venv --clear "$DIR"
CONSTRAINTS="$DIR/torch-constraint.txt"
echo "torch==$TORCH_VERSION" > "$CONSTRAINTS"

pip_install() {
    # pip's output minus the machine's notes about absent local index folders; its exit code kept.
    if ! "$DIR/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" 2>"$DIR/pip.err"; then
        cat "$DIR/pip.err" >&2
        return 1
    fi
    grep -v "is ignored: it is neither a file nor a directory" "$DIR/pip.err" >&2 || true
}

pip_install "torch==$TORCH_VERSION"
pip_install -c "$CONSTRAINTS" "transformers==4.57.6" "sentence-transformers==5.3.0" "datasets==5.0.1"
pip_install --no-deps "pylate==1.6.0"

check_env
echo "pylate env built in $(( $(date +%s) - start )) s, size $(du -sh "$DIR" | cut -f1)"
