#!/bin/sh
# Make sure Request Tracker 5 exists for the helpdesk end-to-end test (tests/test_rt_e2e.py),
# which starts its own private rt-server on 127.0.0.1 with a private copy of the SQLite
# database. Installs Debian's request-tracker5 with the SQLite back end, the standalone
# server and the clients, non-interactively: no Apache, no cron jobs, no database server,
# and dma as the (unused) mail transport the packages insist on. No service is started.
# Idempotent: does nothing when RT is already installed.
set -eu

# GATEWAY_SKIP_RT=1: do not install (tests/test_rt_e2e.py is then skipped).
if [ -n "${GATEWAY_SKIP_RT:-}" ]; then
    exit 0
fi

if [ -x /usr/share/request-tracker5/libexec/rt-server ] && [ -x /usr/bin/rt-mailgate ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-rt.sh: Request Tracker is not installed and we are not root." >&2
    echo "  Install it with:  sudo sh scripts/install-rt.sh" >&2
    echo "  (or set GATEWAY_SKIP_RT=1: the RT end-to-end test is then skipped)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-rt.sh: no apt-get; install Request Tracker 5 (SQLite) by hand." >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
    backup="$(mktemp)"
    cp -p "$policy" "$backup"
fi
restore_policy() {
    if [ -n "$backup" ]; then
        mv -f "$backup" "$policy"
    else
        rm -f "$policy"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

# The debconf answers: the SQLite database made by dbconfig-common, no cron jobs, and a
# root password only the tests' private copy ever uses (the server never listens by itself).
debconf-set-selections <<'ANSWERS'
dma dma/mailname string localhost
dma dma/relayhost string
request-tracker5 request-tracker5/rtname string rt.example
request-tracker5 request-tracker5/organization string rt.example
request-tracker5 request-tracker5/correspondaddress string rt@rt.example
request-tracker5 request-tracker5/commentaddress string rt-comment@rt.example
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean false
request-tracker5 request-tracker5/initial-root-password password gateway-test
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/db/basepath string /var/lib/dbconfig-common/sqlite3/request-tracker5
request-tracker5 request-tracker5/db/dbname string rtdb
ANSWERS

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    dma request-tracker5 rt5-db-sqlite rt5-standalone rt5-clients

echo "install-rt.sh: installed request-tracker5 $(dpkg-query -W -f='${Version}' request-tracker5)"
