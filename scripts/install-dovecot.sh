#!/bin/sh
# Make sure a dovecot binary exists for the tests (which start their own private Dovecot
# on 127.0.0.1 with a generated config). Installs Debian's dovecot-imapd if missing and
# makes sure the packaged system service is neither running nor enabled: the tests never
# use it, and it would otherwise listen on port 143 on all addresses.
# Idempotent: does nothing when dovecot is already installed.
set -eu

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-dovecot.sh: dovecot is not installed and we are not root." >&2
    echo "  Install it with:  sudo apt-get install dovecot-imapd" >&2
    echo "  (then stop/disable the system service: the tests run their own Dovecot)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-dovecot.sh: no apt-get; install Dovecot (imapd) 2.3+ by hand." >&2
    exit 1
fi

# Forbid service starts during the installation (exit code 101 = "action not allowed"),
# restoring any existing policy-rc.d afterwards.
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

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    dovecot-imapd

# Belt and braces: if something started or enabled the system service anyway, undo it.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
else
    if [ -x /etc/init.d/dovecot ]; then
        /etc/init.d/dovecot stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d dovecot disable >/dev/null 2>&1 || true
    fi
    # A systemd unit may still be enabled for a later boot even without systemd running.
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable dovecot.service dovecot.socket >/dev/null 2>&1 || true
    fi
fi

echo "install-dovecot.sh: installed $(/usr/sbin/dovecot --version) (system service stopped and disabled)"
