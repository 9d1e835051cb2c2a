# shellcheck shell=bash
# Helpers shared by scripts/demo.sh and scripts/consortium-demo.sh (sourced, not run).

# json OUT key=value key=@pinfile key=#json ...: writes a JSON object to OUT (mode 0600);
# @FILE values are read from the file (PINs), so no secret is ever an argument; #JSON
# values are parsed as JSON.
json() {
  local out=$1; shift
  (umask 077; python3 - "$out" "$@" <<'PY'
import json, sys
body = {}
for arg in sys.argv[2:]:
    key, value = arg.split("=", 1)
    if value.startswith("@"):
        value = open(value[1:]).read().strip()
    elif value.startswith("#"):
        value = json.loads(value[1:])
    body[key] = value
open(sys.argv[1], "w").write(json.dumps(body))
PY
  )
}

# json_field FILE key...: prints FILE's value at that path of object keys.
json_field() {
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); [v:=v[k] for k in sys.argv[2:]]; print(v)' "$@"
}

step() { printf '\n== %s\n' "$*"; }

# install_and_build ROOT PRESET: installs what is missing, then sets $ml to the medledger
# binary: the already built one in MEDLEDGER_DEMO_BIN (development), else a build of PRESET.
install_and_build() {
  local root=$1 preset=$2
  step "Installing missing Debian packages"
  bash "$root/deploy/install-deps.sh"
  if [[ -n ${MEDLEDGER_DEMO_BIN:-} ]]; then
    # shellcheck disable=SC2034  # $ml is what the calling script runs
    ml="$MEDLEDGER_DEMO_BIN"
  else
    step "Building (preset $preset)"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$(nproc)" | tail -1
    # shellcheck disable=SC2034  # $ml is what the calling script runs
    ml="$root/build/$preset/app/medledger"
  fi
}
