#!/bin/sh
# Makes a Temporal server ready for Core DICT, idempotently: waits until it answers, creates the
# namespace when missing and registers every custom search attribute that is missing. For about
# a second after `namespace create` the search-attribute calls fail (the namespace is not yet in
# the server's cache), and an external server may list a new attribute only a moment after it
# was created: both are retried. POSIX sh: runs in the temporalio/admin-tools image (compose's
# temporal-namespace job) and on the host (scripts/temporal.sh, every Temporal backend).
#
# Environment: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (core-dict),
# TEMPORAL_NAMESPACE_RETENTION (72h), TEMPORAL_SEARCH_ATTRIBUTES ("Name=Type ..."; default: the
# ones our workflows upsert), TEMPORAL_CLI (temporal), TEMPORAL_WAIT_SECONDS (90).
set -eu

cli=${TEMPORAL_CLI:-temporal}
addr=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
ns=${TEMPORAL_NAMESPACE:-core-dict}
attrs=${TEMPORAL_SEARCH_ATTRIBUTES:-ClaimStatus=Keyword ClaimType=Keyword ClaimRole=Keyword DictKeyType=Keyword DictOperation=Keyword NextDeadline=Datetime}
wait=${TEMPORAL_WAIT_SECONDS:-90}

t() { "$cli" "$@" --address "$addr"; }
log() { echo "temporal-namespace: $*"; }

# retry SECONDS CMD...: every half second until CMD succeeds.
retry() {
  n=$(($1 * 2)); shift
  until "$@" >/dev/null 2>&1; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || return 1
    sleep 0.5
  done
}

retry "$wait" t operator cluster health || { log "no Temporal answering at $addr after ${wait}s" >&2; exit 1; }

if ! t operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  log "creating namespace $ns (retention ${TEMPORAL_NAMESPACE_RETENTION:-72h})"
  out=$(t operator namespace create --namespace "$ns" --retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}" 2>&1) ||
    case $out in *lready*) ;; *) echo "$out" >&2; exit 1 ;; esac
  retry 30 t operator namespace describe --namespace "$ns" || { log "namespace $ns not visible after 30s" >&2; exit 1; }
fi

# has NAME: the namespace lists the attribute.
has() { t operator search-attribute list --namespace "$ns" 2>/dev/null | grep -qE "^[[:space:]]*$1[[:space:]]"; }
# add NAME TYPE: create it unless listed (an "already registered" answer is fine), then check.
add() { has "$1" || { t operator search-attribute create --namespace "$ns" --name "$1" --type "$2" >/dev/null 2>&1 || true; has "$1"; }; }

for sa in $attrs; do
  name=${sa%%=*} type=${sa#*=}
  has "$name" && continue
  log "registering search attribute $name=$type"
  retry 30 add "$name" "$type" || { log "search attribute $name=$type still missing after 30s" >&2; exit 1; }
done
log "namespace $ns ready at $addr"
