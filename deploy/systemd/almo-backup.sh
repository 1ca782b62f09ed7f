#!/bin/sh
# almo-backup.sh DIR [KEEP]: one `almo backup` of the database named by ALMO_DATABASE_URL into
# DIR/almo-<UTC time>.db, then only the KEEP newest backups there are kept (default 14). Old ones
# are removed only after the new one was written and checked, so a failing backup never thins out
# the good ones. Run by almo-backup.service; install as /usr/local/lib/almo/almo-backup.sh.
set -eu
dir=${1:?usage: almo-backup.sh DIR [KEEP]}
keep=${2:-14}
almo=${ALMO_BIN:-almo}
mkdir -p "$dir"
"$almo" backup --output "$dir/almo-$(date -u +%Y-%m-%dT%H%M%SZ).db"
# The names sort in time order: everything after the KEEP newest goes.
ls -1 "$dir" | grep -E '^almo-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z\.db$' | sort -r \
  | tail -n +"$((keep + 1))" | while read -r old; do rm -f -- "$dir/$old"; done
echo "kept: $(ls -1 "$dir" | grep -cE '^almo-.*\.db$') backups in $dir"
