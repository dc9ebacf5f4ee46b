#!/bin/sh
# probe.sh ACTION N ARG — small programs that test the executor's limits.
action="$1"; n="$2"; arg="$3"
case "$action" in
  echo) printf '%s\n' "$arg"; printf '%s\n' "$arg" > /outputs/echo.txt; echo "to stderr" >&2 ;;
  slowecho) sleep "$n"; printf '%s\n' "$arg"; mkdir -p /outputs/sub; printf '%s\n' "$arg" > /outputs/sub/echo.txt ;;
  sleep) echo "sleeping $n s"; sleep "$n"; echo done > /outputs/done.txt ;;
  alloc) awk -v mb="$n" 'BEGIN { s = "xxxxxxxxxxxxxxxx"; while (length(s) < mb * 1048576) s = s s; print "allocated " length(s) " bytes" }' ;;
  flood) dd if=/dev/zero of=/outputs/big bs=1048576 count="$n" 2>/dev/null; echo "wrote $n MiB" ;;
  floodhold) dd if=/dev/zero of=/outputs/big bs=1048576 count="$n" 2>/dev/null; echo "wrote $n MiB, holding"; sleep 30 ;;
  spam) awk -v kb="$n" 'BEGIN { l = sprintf("%1023s", ""); gsub(/ /, "y", l); for (i = 0; i < kb; i++) print l }' ;;
  net) # busybox-static's wget crashes without NSS; nc connects to a numeric address
    printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 "${arg%:*}" "${arg##*:}" > /tmp/net.txt || exit 1
    head -n 1 /tmp/net.txt > /outputs/net.txt; echo "network reached $arg" ;;
  rootwrite) echo pwned > /pwned && echo "wrote to /" ;;
  status) grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs)' /proc/self/status ;;
  fail) echo "failing with $n" >&2; exit "$n" ;;
  *) echo "unknown action $action" >&2; exit 64 ;;
esac
