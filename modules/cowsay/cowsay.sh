#!/bin/sh
# Draws a cow saying "$1" (wrapped at 40 columns), to stdout and /outputs/cow.txt.
set -e
printf '%s\n' "$1" | awk '
  function rep(c, n,   s) { s = ""; while (n-- > 0) s = s c; return s }
  {
    n = split($0, w, " "); line = ""
    for (i = 1; i <= n; i++) {
      while (length(w[i]) > 40) { if (line != "") { L[++k] = line; line = "" } L[++k] = substr(w[i], 1, 40); w[i] = substr(w[i], 41) }
      if (line == "") line = w[i]
      else if (length(line) + 1 + length(w[i]) <= 40) line = line " " w[i]
      else { L[++k] = line; line = w[i] }
    }
    if (line != "" || k == 0) L[++k] = line
  }
  END {
    width = 0
    for (i = 1; i <= k; i++) if (length(L[i]) > width) width = length(L[i])
    print " " rep("_", width + 2)
    for (i = 1; i <= k; i++) {
      pad = L[i] rep(" ", width - length(L[i]))
      if (k == 1) print "< " pad " >"
      else if (i == 1) print "/ " pad " \\"
      else if (i == k) print "\\ " pad " /"
      else print "| " pad " |"
    }
    print " " rep("-", width + 2)
    print "        \\   ^__^"
    print "         \\  (oo)\\_______"
    print "            (__)\\       )\\/\\"
    print "                ||----w |"
    print "                ||     ||"
  }' > /outputs/cow.txt
cat /outputs/cow.txt
