#!/usr/bin/env bash
# Makes the database servers the tests start available: MariaDB and PostgreSQL from the
# distribution's packages, installed only when missing (needs root, or sudo).
set -euo pipefail

have_mariadb() { command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; }
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

if have_mariadb && have_postgres; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/db/install.sh: MariaDB and PostgreSQL are needed by the tests; install mariadb-server and postgresql with this system's package manager" >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "scripts/db/install.sh: installing mariadb-server and postgresql needs root (or sudo)" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "== installing mariadb-server postgresql (the database tests start throwaway servers)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q mariadb-server postgresql >/dev/null
have_mariadb && have_postgres
