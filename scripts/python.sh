# shellcheck shell=bash
# Finds a Python >= 3.12, keeps ./.venv built with it, and installs a
# requirements file into it only when that file (or a file it includes with
# -r/-c) changed since the last install.
#
#   source scripts/python.sh requirements.txt   # sets and exports VENV_PYTHON
#   bash scripts/python.sh requirements-dev.txt  # same, as a command
#
# Sourced, it only defines functions and PROJECT_ROOT / VENV_DIR / VENV_PYTHON,
# and, given a requirements file, calls ensure_venv with it. It never changes
# the caller's shell options.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="$PROJECT_ROOT/.venv"
VENV_PYTHON="$VENV_DIR/bin/python"
export PROJECT_ROOT VENV_DIR VENV_PYTHON

_py_log() { printf '[python.sh] %s\n' "$*" >&2; }

# Prints the real executable of a Python >= 3.12 that the given command runs,
# or returns 1. The command may be a pyenv shim that fails when its version is
# not the active one; that counts as "not this one".
_py_probe() {
    "$@" -c 'import sys
if sys.version_info < (3, 12):
    raise SystemExit(1)
print(sys.executable)' 2>/dev/null
}

# Prints the path of the interpreter to build .venv with.
find_python() {
    local exe v
    # 1. what PATH offers, in order of preference.
    for cand in python3.12 python3.13 python3; do
        command -v "$cand" >/dev/null 2>&1 || continue
        if exe="$(_py_probe "$cand")" && [ -n "$exe" ]; then
            printf '%s\n' "$exe"; return 0
        fi
    done
    # 2. pyenv: its shims exist but answer only for the active version.
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])\.[0-9]+$' | sort -t. -k2,2n -k3,3nr); do
            # e.g. PYENV_VERSION=3.12.1 python3.12
            if exe="$(PYENV_VERSION="$v" _py_probe "python${v%.*}")" && [ -n "$exe" ]; then
                printf '%s\n' "$exe"; return 0
            fi
        done
    fi
    # 3. pyenv's folders, even without pyenv on PATH.
    for exe in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        [ -x "$exe" ] || continue
        if exe="$(_py_probe "$exe")"; then printf '%s\n' "$exe"; return 0; fi
    done
    return 1
}

# Hash of a requirements file and every file it pulls in with -r / -c, plus
# the venv's Python version: the stamp that says "already installed".
_req_hash() {
    "$VENV_PYTHON" - "$1" <<'EOF'
import hashlib, pathlib, re, sys
h = hashlib.sha256(sys.version.encode())
seen = set()
def walk(p):
    p = p.resolve()
    if p in seen:
        return
    seen.add(p)
    text = p.read_bytes()
    h.update(text + b"\0")
    for line in text.decode().splitlines():
        m = re.match(r"\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", line)
        if m:
            walk(p.parent / m.group(1))
walk(pathlib.Path(sys.argv[1]))
print(h.hexdigest())
EOF
}

# pip in the venv, without this machine's harmless "Location ... is ignored"
# warnings (its pip.conf names local indexes that lack some packages).
_pip() {
    local rc
    "$VENV_PYTHON" -m pip "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2
    rc="${PIPESTATUS[0]}"
    return "$rc"
}

# ensure_venv [requirements-file]
ensure_venv() {
    local req="${1:-}" base_python stamp want have
    if [ -n "$req" ]; then
        case "$req" in /*) ;; *) req="$PROJECT_ROOT/$req" ;; esac
        if [ ! -f "$req" ]; then
            _py_log "ERROR: requirements file not found: $req"; return 1
        fi
    fi

    if [ -x "$VENV_PYTHON" ] && _py_probe "$VENV_PYTHON" >/dev/null; then
        :   # a usable venv with Python >= 3.12: keep it
    else
        if ! base_python="$(find_python)"; then
            _py_log "ERROR: no Python >= 3.12 found."
            _py_log "  Tried python3.12, python3.13, python3 on PATH and pyenv versions 3.12+."
            _py_log "  Install one (e.g. apt-get install python3.12 on a newer Debian, or pyenv install 3.12)"
            _py_log "  and run this again."
            return 1
        fi
        if [ -e "$VENV_DIR" ]; then
            _py_log "removing $VENV_DIR: its Python is missing or older than 3.12"
            rm -rf "$VENV_DIR"
        fi
        _py_log "creating $VENV_DIR with $base_python ($("$base_python" -V 2>&1))"
        "$base_python" -m venv "$VENV_DIR" || { _py_log "ERROR: venv creation failed"; return 1; }
        _pip install -q --upgrade pip \
            || _py_log "warning: could not upgrade pip; going on with $("$VENV_PYTHON" -m pip --version)"
    fi

    [ -n "$req" ] || return 0
    stamp="$VENV_DIR/.installed-$(basename "$req").sha256"
    want="$(_req_hash "$req")" || { _py_log "ERROR: could not hash $req"; return 1; }
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$want" = "$have" ]; then
        return 0
    fi
    _py_log "installing $(basename "$req") into .venv"
    if ! _pip install -q -r "$req"; then
        _py_log "ERROR: pip install -r $req failed"
        rm -f "$stamp"
        return 1
    fi
    printf '%s\n' "$want" >"$stamp"
}

# Sourced with an argument, or run as a command: do the work now.
if (return 0 2>/dev/null); then
    if [ "$#" -gt 0 ]; then
        ensure_venv "$1" || return 1
    fi
else
    set -euo pipefail
    ensure_venv "${1:-}"
    printf '%s\n' "$VENV_PYTHON"
fi
