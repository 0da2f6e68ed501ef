#!/bin/sh
# The browser of a client run by hand: approves the mock server's consent page and follows the
# redirect to the client's callback, with curl alone. Returns at once and works in the
# background, as a desktop browser does (a client may wait for its browser command to end).
url=$1
(
  page=$(curl -fsS --max-time 10 "$url") || exit 1
  id=$(printf '%s\n' "$page" | sed -n 's/.*name="request_id" value="\([^"]*\)".*/\1/p')
  action=$(printf '%s\n' "$page" | sed -n 's/.*<form method="post" action="\([^"]*\)".*/\1/p')
  origin=$(printf '%s\n' "$url" | sed -E 's#^(https?://[^/]+).*#\1#')
  case $action in
    http://* | https://*) target=$action ;;
    /*) target=$origin$action ;;
    *) target=$origin/$action ;;
  esac
  callback=$(curl -fsS --max-time 10 -o /dev/null -w '%{redirect_url}' \
    --data-urlencode "request_id=$id" -d decision=approve "$target") || exit 1
  curl -sS --max-time 10 -o /dev/null "$callback"
) </dev/null >/dev/null 2>&1 &
