#!/bin/sh
# linfit.sh DATA DIGITS: least squares y = a*x + b. Values are read as integers scaled by 100,
# the normal equations are solved as exact integer fractions, and a and b are printed by long
# division (truncated toward zero) to DIGITS decimals. Every intermediate must stay below
# 2^53 so that it is exact; otherwise the job fails with exit 3 rather than round.
set -e
awk -F, -v digits="$2" '
  function scaled(s,   neg, ip, fp, parts) {
    if (s !~ /^-?[0-9]+(\.[0-9]{1,2})?$/) { print "bad number \"" s "\" on line " NR " (at most 2 decimals)" > "/dev/stderr"; exit 2 }
    neg = (substr(s, 1, 1) == "-"); if (neg) s = substr(s, 2)
    split(s, parts, "."); ip = parts[1]; fp = parts[2]
    while (length(fp) < 2) fp = fp "0"
    v = ip * 100 + fp
    return neg ? -v : v
  }
  function chk(v, what) {
    if (v > 9007199254740991 || v < -9007199254740991) { print "numbers too large for exact integer arithmetic (" what "); use fewer rows or smaller values" > "/dev/stderr"; exit 3 }
    return v
  }
  function idiv(num, den,   q, r) {
    q = int(num / den); r = num - q * den
    while (r < 0) { q--; r += den }
    while (r >= den) { q++; r -= den }
    Q = q; R = r
  }
  # num/den truncated toward zero, with digits decimals
  function fixdiv(num, den,   neg, s, i, d) {
    neg = ((num < 0) != (den < 0)) && num != 0
    if (num < 0) num = -num
    if (den < 0) den = -den
    idiv(num, den); s = sprintf("%.0f", Q)
    if (digits > 0) s = s "."
    for (i = 0; i < digits; i++) { idiv(chk(R * 10, "division"), den); s = s Q }
    return (neg && s !~ /^[0.]+$/ ? "-" : "") s
  }
  NR == 1 { sub(/\r$/, ""); if ($0 != "x,y") { print "bad header: " $0 " (want x,y)" > "/dev/stderr"; exit 2 } next }
  {
    sub(/\r$/, ""); if ($0 == "") next
    if (NF != 2) { print "bad row " NR ": " $0 > "/dev/stderr"; exit 2 }
    x = scaled($1); y = scaled($2)
    n++; sx = chk(sx + x, "sum x"); sy = chk(sy + y, "sum y")
    sxx = chk(sxx + chk(x * x, "x*x"), "sum x*x"); sxy = chk(sxy + chk(x * y, "x*y"), "sum x*y")
  }
  END {
    if (n < 2) { print "need at least 2 rows, got " n + 0 > "/dev/stderr"; exit 2 }
    den = chk(chk(n * sxx, "n*sxx") - chk(sx * sx, "sx*sx"), "den")
    if (den == 0) { print "all x are equal: the slope is undefined" > "/dev/stderr"; exit 2 }
    anum = chk(chk(n * sxy, "n*sxy") - chk(sx * sy, "sx*sy"), "slope numerator")
    # b = (sxx*sy - sx*sxy) / den, in units of 1/100
    bnum = chk(chk(sxx * sy, "sxx*sy") - chk(sx * sxy, "sx*sxy"), "intercept numerator")
    a = fixdiv(anum, den); b = fixdiv(bnum, chk(den * 100, "den*100"))
    printf "{\"a\":\"%s\",\"b\":\"%s\",\"n\":%d}\n", a, b, n > "/outputs/weights.json"
    printf "fitted y = %s * x + %s on %d rows\n", a, b, n
  }' "$1"
