#!/bin/sh
# Serves the two example types beside the built-in Todo list:
#   line-*   a production line (machines, counters, open alarms), at version 2
#   shift-*  a shift handover checklist
# Every other document name is a Todo list. Data goes to ./data-types unless DATA is set.
# A type that does not compile, or whose default fails its schema, stops start-up naming the
# file, the JSON Pointer inside it and the reason.
#
#   examples/types/run.sh                 then open http://127.0.0.1:3333/?doc=line-3
#   PORT=8080 examples/types/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${PATCHSYNC:-$root/.build/release/patchsync}
if [ ! -x "$binary" ]; then
    (cd "$root" && swift build -c release --product patchsync)
fi
exec "$binary" serve --types "$here" --data "${DATA:-./data-types}" --port "${PORT:-3333}" "$@"
