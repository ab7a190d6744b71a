#!/usr/bin/env bash
# Install the system packages the tests and `make run` need on Debian 12.
#
# Idempotent: when every tool is already present nothing touches apt (fast
# path). Tests start their own throwaway Dovecot and PostgreSQL instances, so
# any system service that apt starts is stopped and disabled again.
set -euo pipefail

log() { printf 'install-system-deps: %s\n' "$*"; }

missing=()

have_cmd() { command -v "$1" >/dev/null 2>&1; }

# Dovecot: the master binary, the IMAP and POP3 daemons and doveadm.
if ! have_cmd dovecot && [ ! -x /usr/sbin/dovecot ]; then
    missing+=(dovecot-imapd dovecot-pop3d)
else
    [ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
    [ -x /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
fi
have_cmd doveadm || [ -x /usr/bin/doveadm ] || missing+=(dovecot-core)

# PostgreSQL server binaries (initdb/pg_ctl/postgres) and the postgres user
# the fixtures run them as when the tests run as root.
pg_found=0
for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
        pg_found=1
        break
    fi
done
if [ "$pg_found" -eq 0 ] || ! id -u postgres >/dev/null 2>&1; then
    missing+=(postgresql)
fi

# Postfix: the throwaway MTA that delivers to the LMTP gateway in the tests and the
# benchmark (devtools/postfix.py runs its own instance from a private config dir).
[ -x /usr/sbin/postfix ] || missing+=(postfix)

have_cmd openssl || missing+=(openssl)
have_cmd java || missing+=(openjdk-17-jre-headless)
have_cmd mvn || missing+=(maven)
# Chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser download)
# and a font for its screenshots (docs/screenshots/).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)

if [ "${#missing[@]}" -eq 0 ]; then
    log "all system dependencies present; apt not needed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
fi

# De-duplicate while keeping order.
declare -A seen=()
pkgs=()
for p in "${missing[@]}"; do
    if [ -z "${seen[$p]:-}" ]; then
        seen[$p]=1
        pkgs+=("$p")
    fi
done

export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail server to be: none (the tests configure their own).
if have_cmd debconf-set-selections; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
fi
log "installing: ${pkgs[*]}"
log "apt-get update"
apt-get update -q
log "apt-get install -y --no-install-recommends ${pkgs[*]}"
apt-get install -y -q --no-install-recommends "${pkgs[@]}"

# apt may have started the system services; the tests run their own instances.
for svc in dovecot postgresql postfix; do
    if [ -e "/etc/init.d/$svc" ] || have_cmd systemctl; then
        log "stopping and disabling system service $svc"
        if have_cmd systemctl && [ -d /run/systemd/system ]; then
            systemctl stop "$svc" >/dev/null 2>&1 || true
            systemctl disable "$svc" >/dev/null 2>&1 || true
        else
            service "$svc" stop >/dev/null 2>&1 || invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
            update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
    fi
done
log "done"
