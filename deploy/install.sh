#!/usr/bin/env bash
# Installs a built klaxon: binaries, configuration, systemd unit, signing key, system user.
#
#   ./deploy/klaxon.sh build && sudo ./deploy/install.sh            # then: systemctl enable --now klaxond
#   ./deploy/install.sh --prefix /usr --destdir "$pkgroot" --no-keygen  # for a package
#
# What goes where (DESTDIR is prepended to every path):
#   PREFIX/bin/klaxond, PREFIX/bin/klaxonctl
#   /etc/klaxon/klaxon.yaml           from deploy/klaxon.yaml, only when there is none (never
#                                     overwritten); klaxon.example.yaml and rules.example.yml
#                                     beside it, refreshed on every run
#   /etc/klaxon/audit.key, audit.pub  the Ed25519 checkpoint key (klaxonctl keygen), only when
#                                     there is none; root-owned, readable by group klaxon
#   UNITDIR/klaxond.service           ExecStart pointing at PREFIX/bin/klaxond
#   PREFIX/share/klaxon/              Grafana dashboard, Prometheus rules, forwarding recipes
#   PREFIX/share/doc/klaxon/          README.md and deploy/README.md
# With no DESTDIR it also creates the system user and group `klaxon` and runs
# `systemctl daemon-reload` when systemd is running. The data directories (/var/lib/klaxon,
# /var/lib/klaxon-audit) are the unit's StateDirectory=: systemd creates them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
destdir="${DESTDIR:-}"
build_dir="$here/build"
unit_dir=/etc/systemd/system
sysconf_dir=/etc/klaxon
keygen=1
make_user=1

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  cat >&2 <<'EOF'
Options:
  --prefix DIR      where bin/ and share/ go (default /usr/local)
  --destdir DIR     stage everything under DIR (also: the DESTDIR environment variable)
  --build-dir DIR   where the built binaries are (default ./build)
  --unit-dir DIR    where the unit goes (default /etc/systemd/system)
  --no-keygen       do not generate /etc/klaxon/audit.key (a package does it at install time)
  --no-user         do not create the klaxon user and group
EOF
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift 2 ;;
    --build-dir=*) build_dir="${1#*=}"; shift ;;
    --unit-dir) unit_dir="${2:?--unit-dir needs a directory}"; shift 2 ;;
    --unit-dir=*) unit_dir="${1#*=}"; shift ;;
    --no-keygen) keygen=0; shift ;;
    --no-user) make_user=0; shift ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage ;;
  esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute: $prefix" >&2; exit 2 ;; esac
destdir="${destdir%/}"

log() { printf '==> %s\n' "$*" >&2; }

for b in klaxond klaxonctl; do
  if [ ! -x "$build_dir/daemon/$b" ]; then
    echo "install.sh: $build_dir/daemon/$b is missing: build first (./deploy/klaxon.sh build)" >&2
    exit 1
  fi
done

# Owner and group of what klaxond must read but not change. Without DESTDIR (a real install)
# the klaxon group owns the configuration; staged for a package, the package sets owners.
group=""
if [ -z "$destdir" ] && [ "$make_user" = 1 ]; then
  if ! getent passwd klaxon >/dev/null; then
    log "creating the system user klaxon"
    if command -v adduser >/dev/null; then
      adduser --system --group --home /var/lib/klaxon --no-create-home \
        --shell /usr/sbin/nologin --gecos "klaxon alert daemon" klaxon >/dev/null
    else
      useradd --system --user-group --home-dir /var/lib/klaxon --no-create-home \
        --shell /usr/sbin/nologin --comment "klaxon alert daemon" klaxon
    fi
  fi
fi
if [ -z "$destdir" ] && getent group klaxon >/dev/null; then group=klaxon; fi
own() {  # mode file...: root:klaxon when the group exists
  local mode="$1"; shift
  chmod "$mode" "$@"
  if [ -n "$group" ]; then chown "root:$group" "$@"; fi
}

bin="$destdir$prefix/bin"
share="$destdir$prefix/share/klaxon"
doc="$destdir$prefix/share/doc/klaxon"
etc="$destdir$sysconf_dir"
units="$destdir$unit_dir"

log "binaries -> $bin"
install -d -m 0755 "$bin"
install -m 0755 "$build_dir/daemon/klaxond" "$build_dir/daemon/klaxonctl" "$bin/"

log "configuration -> $etc"
install -d -m 0750 "$etc"
own 0750 "$etc"
if [ -e "$etc/klaxon.yaml" ]; then
  log "keeping the existing $etc/klaxon.yaml (the new default is in $share/klaxon.yaml)"
else
  install -m 0640 "$here/deploy/klaxon.yaml" "$etc/klaxon.yaml"
  own 0640 "$etc/klaxon.yaml"
fi
install -m 0644 "$here/deploy/klaxon.example.yaml" "$here/deploy/rules.example.yml" "$etc/"
if [ "$keygen" = 1 ]; then
  if [ -e "$etc/audit.key" ]; then
    log "keeping the existing signing key $etc/audit.key"
  else
    log "generating the Ed25519 checkpoint signing key $etc/audit.key"
    "$build_dir/daemon/klaxonctl" keygen --out "$etc/audit" >/dev/null
    own 0640 "$etc/audit.key"
    own 0644 "$etc/audit.pub"
    log "keep a copy of $etc/audit.pub away from this machine: it is what verifies the record"
  fi
fi

log "systemd unit -> $units/klaxond.service"
install -d -m 0755 "$units"
sed -e "s#/usr/local/bin/klaxond#$prefix/bin/klaxond#g" \
  -e "s#/usr/local/share/doc/klaxon#$prefix/share/doc/klaxon#g" \
  "$here/deploy/systemd/klaxond.service" >"$units/klaxond.service.tmp"
chmod 0644 "$units/klaxond.service.tmp"
mv "$units/klaxond.service.tmp" "$units/klaxond.service"

log "dashboard, alerting rules, recipes -> $share"
install -d -m 0755 "$share/grafana" "$share/prometheus" "$share/recipes" "$doc"
install -m 0644 "$here/deploy/klaxon.yaml" "$share/"
install -m 0644 "$here/deploy/grafana/klaxon-dashboard.json" "$share/grafana/"
install -m 0644 "$here/deploy/prometheus/klaxon.rules.yml" "$here/deploy/prometheus/prometheus.yml" \
  "$share/prometheus/"
for f in "$here"/deploy/recipes/*; do install -m 0644 "$f" "$share/recipes/"; done
install -m 0644 "$here/README.md" "$doc/README.md"
install -m 0644 "$here/deploy/README.md" "$doc/deploy.md"

if [ -z "$destdir" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi
log "installed. Next: edit $sysconf_dir/klaxon.yaml, then: systemctl enable --now klaxond"
