#!/usr/bin/env bash
# Back up a broadcaster installation: a PostgreSQL dump (custom format, for pg_restore) and the
# media store, kept BACKUP_KEEP_DAYS days, then copied to another host if BACKUP_RSYNC_TO is set.
# Run nightly by broadcaster-backup.timer; restoring is in deploy/PROVINCE.md, "Backups".
#
#   BACKUP_DATABASE   libpq connection string or database name   [broadcaster]
#   BACKUP_DIR        where the dumps and the media copy go      [/var/backups/broadcaster]
#   BACKUP_MEDIA_DIR  the server's media_dir                     [/var/lib/broadcaster/media]
#   BACKUP_KEEP_DAYS  dumps older than this are deleted          [14]
#   BACKUP_RSYNC_TO   rsync destination, e.g. backup@b1:/srv/broadcaster/ (empty: none)
set -euo pipefail

db=${BACKUP_DATABASE:-broadcaster}
dir=${BACKUP_DIR:-/var/backups/broadcaster}
media=${BACKUP_MEDIA_DIR:-/var/lib/broadcaster/media}
keep=${BACKUP_KEEP_DAYS:-14}
remote=${BACKUP_RSYNC_TO:-}

mkdir -p "$dir/media"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
# Written under a temporary name: a dump that is there is complete.
pg_dump --format=custom --file="$dir/db-$stamp.dump.part" --dbname="$db"
mv "$dir/db-$stamp.dump.part" "$dir/db-$stamp.dump"
# Media files are content-addressed and never change: each run copies only the new ones, and
# never deletes (a file removed by mistake stays in the backup).
if [ -d "$media" ]; then
  rsync -a "$media/" "$dir/media/"
else
  echo "backup: no media directory $media yet (nothing rendered or uploaded)"
fi
find "$dir" -maxdepth 1 -name 'db-*.dump' -mtime +"$keep" -delete
if [ -n "$remote" ]; then
  rsync -a "$dir/" "$remote"
fi
echo "backup: $dir/db-$stamp.dump ($(du -h "$dir/db-$stamp.dump" | cut -f1)), media $(find "$dir/media" -type f | wc -l) files"
