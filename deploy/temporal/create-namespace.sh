#!/bin/sh
# Create the namespace and q2c's search attributes (the operator contract) once the server is up.
set -eu
NS="${DEFAULT_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do sleep 1; done
temporal operator namespace describe -n "$NS" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$NS" --retention 30d --address "$TEMPORAL_ADDRESS"
for attribute in Q2CStage:Keyword Q2CHold:Keyword Q2CCustomer:Keyword Q2CAmount:Double; do
  temporal operator search-attribute create -n "$NS" --address "$TEMPORAL_ADDRESS" \
    --name "${attribute%%:*}" --type "${attribute##*:}" || true
done
echo "namespace $NS ready"
