#!/usr/bin/env bash
# The Go module: the embedded wasm is fresh and reproducible, gofmt and go vet,
# go test -race against the emulator (faults, cancellation, single flight, HTTPS,
# the cross-host scenarios), the ibmauth module (go vet, go test), CGO_ENABLED=0
# builds for linux/amd64 and linux/s390x, the s390x test binary under qemu-user,
# the benchmark and the compile cost.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0
export VPC_IMDS_WAZERO_CACHE="$root/target/go-wazero-cache"
export EMULATOR_BIN="$root/target/debug/vpc-imds-emulator"
mkdir -p "$root/target"
work=$(mktemp -d "$root/target/go-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT

STEPS=go
. "$root/scripts/steps.sh"
cargo build -q -p vpc-imds-emulator || exit 1

step "build-wasm.sh builds the module" bindings/go/build-wasm.sh "$work/a.wasm"
step "the committed vpc_imds.wasm is fresh" cmp bindings/go/vpc_imds.wasm "$work/a.wasm"
step "a second build in another directory gives the same bytes" bash -c \
  "WASM_TARGET_DIR='$work/target-2' bindings/go/build-wasm.sh '$work/b.wasm' && cmp '$work/a.wasm' '$work/b.wasm'"
rm -rf "$work/target-2"
cd bindings/go
step "gofmt" bash -c '[ -z "$(gofmt -l .)" ] || { gofmt -l .; false; }'
step "go vet" go vet ./...
# The race detector needs cgo (its runtime); the package itself has none.
step "go test -race" env CGO_ENABLED=1 go test -race -count=1 ./...
# ibmauth: its own module (go-sdk-core); its committed go.sum must do (-mod=readonly).
step "ibmauth: go vet and go test against the emulator" bash -c \
  "cd ibmauth && GOFLAGS=-mod=readonly go vet ./... && GOFLAGS=-mod=readonly go test -count=1 ./..."
for arch in amd64 s390x; do
  step "CGO_ENABLED=0 build for linux/$arch" bash -c "
    GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o '$work/instance-$arch' ./examples/instance &&
    GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o '$work/iamtoken-$arch' ./examples/iamtoken &&
    file -b '$work/instance-$arch' | grep -q 'statically linked'"
done
qemu=$(command -v qemu-s390x-static || true)
if [ -z "$qemu" ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null 2>&1
  qemu=$(command -v qemu-s390x-static || true)
fi
if [ -n "$qemu" ]; then
  step "the s390x test binary under qemu-user against the emulator" bash -c "
    GOARCH=s390x go test -c -o '$work/imds.test.s390x' . &&
    '$qemu' '$work/imds.test.s390x' -test.count=1 -test.v \
      -test.run 'TestInstanceKeysAndDocuments|TestGeneratedOperations|TestSingleFlight|TestErrorsAreTyped|TestFaults/401|TestContext|TestCompileCost' |
      grep -E '^(--- |ok|PASS|FAIL)|compile'"
else
  step "qemu-s390x-static is present (apt package qemu-user-static; not root, so not installed)" false
fi
step "the example runs against the emulator" bash -c "
  log='$work/emu.out'; '$EMULATOR_BIN' > \"\$log\" 2>&1 & pid=\$!
  for _ in \$(seq 100); do grep -q '^control on' \"\$log\" && break; sleep 0.1; done
  url=\$(sed -n 's/^listening on //p' \"\$log\")
  '$work/instance-amd64' \"\$url\" | grep -q 'instance emu-vsi-1'; rc=\$?; kill \$pid; exit \$rc"
echo "== compile cost of the embedded module (first New in a fresh process)"
VPC_IMDS_WAZERO_CACHE=off go test -count=1 -run TestCompileCost -v . | grep compile
rm -rf "$work/cache"
VPC_IMDS_WAZERO_CACHE="$work/cache" go test -count=1 -run TestCompileCost -v . | grep compile
VPC_IMDS_WAZERO_CACHE="$work/cache" go test -count=1 -run TestCompileCost -v . | grep compile
echo "== cached Instance() beside a raw net.Conn floor (same run, same emulator)"
go test -count=1 -run '^$' -bench . -benchtime 3000x . | grep Benchmark
echo "== sizes (bytes, CGO_ENABLED=0, -trimpath -ldflags='-s -w')"
echo "vpc_imds.wasm $(stat -c %s vpc_imds.wasm); examples/instance amd64 $(stat -c %s "$work/instance-amd64") s390x $(stat -c %s "$work/instance-s390x"); examples/iamtoken amd64 $(stat -c %s "$work/iamtoken-amd64")"
if (cd compare/sdkcore && go build -trimpath -ldflags='-s -w' -o "$work/sdkcore-amd64" . 2>/dev/null); then
  echo "the same IAM-token program with github.com/IBM/go-sdk-core/v5 (compare/sdkcore): $(stat -c %s "$work/sdkcore-amd64")"
else
  echo "go-sdk-core could not be fetched: no size comparison"
fi
steps_end
