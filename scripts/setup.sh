#!/usr/bin/env bash
# Creates .venv and installs the app's packages; with --dev also the test tools, Debian chromium and postgresql.
# Says what it is doing as it goes: a line per package pip fetches (about 1 GB and 2-3 minutes
# the first time, a few seconds after that); pip's full output goes to .venv/setup.log.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
LOG=.venv/setup.log

# pip's output, one short line per package fetched, instead of pip's three (or its silence).
summarise() {
  local satisfied=0 installed=0 line file name size package version
  while IFS= read -r line; do
    case "$line" in
      "  Downloading "*" ("*")" | "  Using cached "* | "Processing "*)
        file="${line#"  Downloading "}"
        file="${file#"  Using cached "}"
        case "$file" in *.metadata*) continue ;; esac
        size=""
        if [[ "$line" == "Processing "* ]]; then
          file="${file#Processing }"
          file="${file%% (from *}"
        elif [[ "$file" == *" ("*")" ]]; then
          size=" (${file##* (}"
          file="${file% (*}"
        fi
        # tensorflow-2.21.0-cp311-...whl (620.0 MB) -> tensorflow 2.21.0 (620.0 MB)
        name="${file##*/}"
        name="${name%.whl}"
        name="${name%.tar.gz}"
        IFS=- read -r package version _ <<<"$name"
        echo "    ${package} ${version}${size}"
        ;;
      "Requirement already satisfied:"*) satisfied=$((satisfied + 1)) ;;
      "Installing collected packages: "*)
        line="${line#Installing collected packages: }"
        echo "  unpacking $(($(tr -cd , <<<"$line" | wc -c) + 1)) package(s) into .venv..."
        ;;
      "Successfully installed "*)
        installed=$(($(wc -w <<<"$line") - 2))
        echo "  installed $installed package(s)"
        ;;
      ERROR* | error*) echo "  $line" ;;
    esac
  done
  [ "$installed" -gt 0 ] || [ "$satisfied" -eq 0 ] || echo "  already up to date ($satisfied package(s))"
}

# pip_install WHAT PIP-ARGUMENTS...: installs, showing the summary; on failure, the log's tail.
pip_install() {
  local what="$1" started=$SECONDS status
  shift
  echo "Installing $what..."
  set +e
  .venv/bin/python -m pip install --progress-bar off --disable-pip-version-check "$@" 2>&1 |
    tee -a "$LOG" | summarise
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    echo "pip failed (exit $status). The end of $LOG:" >&2
    tail -n 15 "$LOG" >&2
    exit "$status"
  fi
  echo "  done in $((SECONDS - started)) s"
}

created=""
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PYTHON (first setup: TensorFlow and ~70 more packages, 1-3 minutes)..."
  "$PYTHON" -m venv .venv
  created=1
fi
: >"$LOG"
[ -z "$created" ] || pip_install "the latest pip" --upgrade pip

if [ "${1:-}" = "--dev" ]; then
  pip_install "the app's packages and the test tools (requirements-dev.txt)" -r requirements-dev.txt
  # Debian's chromium for the browser tests, and postgresql for the search's shared-study test.
  missing=""
  [ -x /usr/bin/chromium ] || missing=" chromium"
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing="$missing postgresql"
  if [ -n "$missing" ]; then
    echo "Installing Debian's$missing with apt-get, for the tests..."
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # One word per package.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
    echo "  done"
  fi
else
  pip_install "the app's packages (requirements.txt)" -r requirements.txt
fi
