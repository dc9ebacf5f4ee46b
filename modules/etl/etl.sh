#!/bin/sh
# etl.sh DATA MIN_UNITS GROUP_BY
# /outputs/filtered.csv: the rows with units >= MIN_UNITS, in input order, with revenue_cents added.
# /outputs/summary.csv: per group (sorted): rows, units, revenue_cents. Integer arithmetic only.
set -e
data="$1"; min="$2"; by="$3"
case "$by" in region) col=1 ;; product) col=2 ;; *) echo "groupBy must be region or product" >&2; exit 2 ;; esac
awk -F, -v min="$min" -v col="$col" -v by="$by" '
  NR == 1 {
    sub(/\r$/, "")
    if ($0 != "region,product,units,price_cents") { print "bad header: " $0 " (want region,product,units,price_cents)" > "/dev/stderr"; exit 2 }
    print "region,product,units,price_cents,revenue_cents" > "/outputs/filtered.csv"
    next
  }
  {
    sub(/\r$/, "")
    if ($0 == "") next
    if (NF != 4 || $3 !~ /^[0-9]+$/ || $4 !~ /^[0-9]+$/ || $1 == "" || $2 == "") { print "bad row " NR ": " $0 > "/dev/stderr"; exit 2 }
    if ($3 + 0 < min + 0) { dropped++; next }
    rev = $3 * $4
    print $0 "," rev > "/outputs/filtered.csv"
    g = $col; rows[g]++; units[g] += $3; revenue[g] += rev; kept++
  }
  END {
    for (g in rows) printf "%s,%d,%d,%d\n", g, rows[g], units[g], revenue[g] > "/tmp/summary.unsorted"
    printf "kept %d rows, dropped %d\n", kept, dropped
  }' "$data"
{
  echo "$by,rows,units,revenue_cents"
  [ -f /tmp/summary.unsorted ] && LC_ALL=C sort -t, -k1,1 /tmp/summary.unsorted
} > /outputs/summary.csv
cat /outputs/summary.csv
