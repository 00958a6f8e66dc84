#!/usr/bin/env bash
# Checks contrib/: the systemd units (systemd-analyze verify), vpc-imds-boot against
# the emulator (atomic, idempotent authorized_keys and user data with the right
# modes; a failed fetch changes nothing), and the dracut module's install script
# against fake dracut functions.
#
#   contrib/test.sh VPC_IMDS_BINARY EMULATOR_BINARY
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:?usage: contrib/test.sh VPC_IMDS_BINARY EMULATOR_BINARY}")
emulator=$(realpath "${2:?usage: contrib/test.sh VPC_IMDS_BINARY EMULATOR_BINARY}")
work=$(mktemp -d)
emu_pid=
trap '[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"' EXIT

passed=0 failed=0
check() { # name, then a command that must succeed
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

# --- systemd units: verified with ExecStart pointing at this checkout's script
mkdir -p "$work/units"
for u in contrib/systemd/*.service; do
  sed "s|/usr/libexec/vpc-imds/vpc-imds-boot|$PWD/contrib/systemd/vpc-imds-boot|" "$u" > "$work/units/$(basename "$u")"
done
# cloud-init's stages as upstream orders them (the network stage before
# network-online.target): starting ours beside them must not be a cycle.
printf '[Unit]\nDescription=cloud-init network stage (stub)\nDefaultDependencies=no\nBefore=network-online.target sshd.service systemd-user-sessions.service\n[Service]\nType=oneshot\nExecStart=/bin/true\n' > "$work/units/cloud-init.service"
printf '[Unit]\nDescription=cloud-init config stage (stub)\nAfter=network-online.target\n[Service]\nType=oneshot\nExecStart=/bin/true\n' > "$work/units/cloud-config.service"
check "systemd-analyze verify vpc-imds-user-data.service vpc-imds-ssh-keys@root.service, with cloud-init's stages" \
  bash -c "out=\$(systemd-analyze verify '$work/units/vpc-imds-user-data.service' '$work/units/vpc-imds-ssh-keys@root.service' '$work/units/cloud-init.service' '$work/units/cloud-config.service' 2>&1); rc=\$?; [ -n \"\$out\" ] && echo \"\$out\"; [ \$rc -eq 0 ] && [ -z \"\$out\" ]"
check "the units order after network-online.target and before sshd / cloud-config" bash -c "
  grep -q '^After=network-online.target' contrib/systemd/vpc-imds-ssh-keys@.service &&
  grep -q '^Before=.*sshd.service' contrib/systemd/vpc-imds-ssh-keys@.service &&
  grep -q '^After=network-online.target' contrib/systemd/vpc-imds-user-data.service &&
  grep -q '^Before=cloud-config.service' contrib/systemd/vpc-imds-user-data.service"

# --- vpc-imds-boot against the emulator
"$emulator" > "$work/emu.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do grep -q '^control on ' "$work/emu.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/emu.out")
export VPC_IMDS="$bin" VPC_IMDS_ENDPOINT="$url" VPC_IMDS_WAIT=10
boot=contrib/systemd/vpc-imds-boot
keys="$work/home/.ssh/authorized_keys"
mkdir -p "$work/home/.ssh"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandAddedKeyHandAddedKeyHandAddedKey00 hand-added" > "$keys"
chmod 0644 "$keys"; chmod 0755 "$work/home/.ssh"
check "ssh-keys writes the keys in its block and keeps hand-added lines" bash -c "
  AUTHORIZED_KEYS='$keys' '$boot' ssh-keys root >/dev/null &&
  grep -q 'hand-added' '$keys' &&
  [ \$(sed -n '/^# BEGIN vpc-imds/,/^# END vpc-imds/p' '$keys' | grep -c '^ssh-') -eq 3 ] &&
  diff <(sed -n '/^# BEGIN vpc-imds/,/^# END vpc-imds/p' '$keys' | grep '^ssh-') <('$bin' ssh-keys)"
check "authorized_keys is 0600 and ~/.ssh 0700, owned by the user" bash -c "
  [ \$(stat -c %a '$keys') = 600 ] && [ \$(stat -c %a '$work/home/.ssh') = 700 ] &&
  [ \$(stat -c %U '$keys') = root ]"
sum1=$(sha256sum "$keys"); mtime1=$(stat -c %Y.%y "$keys")
sleep 1
check "a second run is a no-op (same bytes, same mtime, no temp files left)" bash -c "
  AUTHORIZED_KEYS='$keys' '$boot' ssh-keys root | grep -q 'up to date' &&
  [ \"\$(sha256sum '$keys')\" = '$sum1' ] && [ \"\$(stat -c %Y.%y '$keys')\" = '$mtime1' ] &&
  [ \$(ls -A '$work/home/.ssh' | wc -l) -eq 1 ]"
check "a failed fetch leaves authorized_keys as it was and fails" bash -c "
  ! VPC_IMDS_ENDPOINT=http://127.0.0.1:9 VPC_IMDS_WAIT=0.5 AUTHORIZED_KEYS='$keys' '$boot' ssh-keys root 2>/dev/null &&
  [ \"\$(sha256sum '$keys')\" = '$sum1' ] && [ \$(ls -A '$work/home/.ssh' | wc -l) -eq 1 ]"
check "the block is replaced, not appended, when the keys change" bash -c "
  sed -i 's/^ssh-rsa .*/ssh-rsa AAAAstale stale/' '$keys' &&
  AUTHORIZED_KEYS='$keys' '$boot' ssh-keys root >/dev/null &&
  ! grep -q stale '$keys' && [ \$(grep -c '^# BEGIN vpc-imds' '$keys') -eq 1 ] &&
  [ \"\$(sha256sum '$keys')\" = '$sum1' ]"
# The passwd entry's fields, whatever a user put in their comment field (`chfn`):
# a getent stub gives one with `\072` (dash's echo would make it a colon) and `\c`;
# and entries for `nobody` with homes this test makes.
mkdir -p "$work/stub" "$work/gecos"
cat > "$work/stub/getent" <<STUB
#!/bin/sh
case "\$2" in
  gecos) printf '%s\n' 'gecos:x:$(id -u):$(id -g):x\\072$work/wrong\\c:$work/gecos:/bin/sh' ;;
  rooth) printf '%s\n' 'rooth:x:65534:65534::$work/rooth:/bin/sh' ;;
  grouph) printf '%s\n' 'grouph:x:65534:65534::$work/grouph:/bin/sh' ;;
  *) exit 2 ;;
esac
STUB
chmod +x "$work/stub/getent"
check "the home comes from its own field, not from a backslash in the comment" bash -c "
  PATH='$work/stub':\$PATH '$boot' ssh-keys gecos >/dev/null &&
  grep -q '^# BEGIN vpc-imds' '$work/gecos/.ssh/authorized_keys' && [ ! -e '$work/wrong' ]"
# For another user, the writing is that user's (setpriv): needs root to switch users.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent passwd nobody >/dev/null; then
  chmod 0755 "$work"
  nb="$work/nobody"
  mkdir -p "$nb/.ssh" && chown -R nobody: "$nb"
  echo SECRET-ROOT-ONLY > "$work/secret" && chmod 0600 "$work/secret"
  ln -s "$work/secret" "$nb/.ssh/authorized_keys" && chown -h nobody: "$nb/.ssh/authorized_keys"
  check "for another user, a symlink they planted to a root-only file copies nothing and fails" bash -c "
    ! AUTHORIZED_KEYS='$nb/.ssh/authorized_keys' '$boot' ssh-keys nobody >/dev/null 2>'$work/nb.err' &&
    grep -q 'vpc-imds-boot: cannot read' '$work/nb.err' &&
    [ \"\$(cat '$work/secret')\" = SECRET-ROOT-ONLY ] && [ \$(stat -c %U:%a '$work/secret') = root:600 ] &&
    ! grep -rqs SECRET '$nb' && [ \$(ls -A '$nb/.ssh' | wc -l) -eq 1 ] && [ -L '$nb/.ssh/authorized_keys' ]"
  check "for another user, ~/.ssh and authorized_keys are written as that user" bash -c "
    rm -f '$nb/.ssh/authorized_keys' &&
    AUTHORIZED_KEYS='$nb/.ssh/authorized_keys' '$boot' ssh-keys nobody >/dev/null &&
    [ \$(stat -c %U:%a '$nb/.ssh/authorized_keys') = nobody:600 ] && [ \$(stat -c %U:%a '$nb/.ssh') = nobody:700 ] &&
    diff <(sed -n '/^# BEGIN vpc-imds/,/^# END vpc-imds/p' '$nb/.ssh/authorized_keys' | grep '^ssh-') <('$bin' ssh-keys)"
  check "for another user, an authorized_keys over 1 MiB (a sparse file holding the boot) is left alone" bash -c "
    truncate -s 2M '$nb/.ssh/authorized_keys' && chown nobody: '$nb/.ssh/authorized_keys' &&
    ! AUTHORIZED_KEYS='$nb/.ssh/authorized_keys' '$boot' ssh-keys nobody >/dev/null 2>'$work/nb.err' &&
    grep -q 'over 1 MiB' '$work/nb.err' && [ \$(stat -c %s '$nb/.ssh/authorized_keys') = 2097152 ] &&
    [ \$(ls -A '$nb/.ssh' | wc -l) -eq 1 ]"
  check "write-keys refuses to run as root (it would follow a user's symlinks)" bash -c "
    ! '$boot' write-keys '$work/never' </dev/null 2>'$work/wk.err' && grep -q 'runs as the user' '$work/wk.err' &&
    [ ! -e '$work/never' ]"
  mkdir -m 0755 "$work/rooth" "$work/grouph" && chmod 0775 "$work/grouph"
  check "in a home the user cannot write to (root's, 0755), root makes ~/.ssh and the user writes the keys" bash -c "
    PATH='$work/stub':\$PATH '$boot' ssh-keys rooth >/dev/null &&
    [ \$(stat -c %U:%a '$work/rooth/.ssh') = nobody:700 ] &&
    [ \$(stat -c %U:%a '$work/rooth/.ssh/authorized_keys') = nobody:600 ] &&
    grep -q '^# BEGIN vpc-imds' '$work/rooth/.ssh/authorized_keys'"
  check "in a root home the user's group may write to, root makes nothing (and the user cannot)" bash -c "
    ! PATH='$work/stub':\$PATH '$boot' ssh-keys grouph >/dev/null 2>&1 && [ ! -e '$work/grouph/.ssh' ]"
else
  echo "SKIP ssh-keys for another user: switching users needs root, setpriv and a 'nobody' user (this run: uid $(id -u))"
fi
mkdir -p "$work/dirkeys/authorized_keys"
check "an authorized_keys that is a directory is refused, and left as it was" bash -c "
  ! AUTHORIZED_KEYS='$work/dirkeys/authorized_keys' '$boot' ssh-keys root >/dev/null 2>'$work/dir.err' &&
  grep -q 'is a directory' '$work/dir.err' && [ -z \"\$(ls -A '$work/dirkeys/authorized_keys')\" ] &&
  [ \$(ls -A '$work/dirkeys' | wc -l) -eq 1 ]"
ud="$work/run/vpc-imds/user-data"
check "user-data writes the raw bytes, 0600 in a 0700 directory" bash -c "
  '$boot' user-data '$ud' >/dev/null && cmp -s '$ud' <('$bin' user-data) &&
  [ \$(stat -c %a '$ud') = 600 ] && [ \$(stat -c %a '$work/run/vpc-imds') = 700 ]"
check "user-data is idempotent" bash -c "
  m=\$(stat -c %y '$ud'); sleep 1; '$boot' user-data '$ud' | grep -q 'up to date' &&
  [ \"\$(stat -c %y '$ud')\" = \"\$m\" ] && [ \$(ls -A '$work/run/vpc-imds' | wc -l) -eq 1 ]"

# --- dracut: module-setup.sh against fake dracut functions
mkdir -p "$work/path"
ln -s "$bin" "$work/path/vpc-imds"
check "dracut module-setup.sh: check, depends, install" bash -c '
  set -eu
  log="$1/dracut.log"; : > "$log"
  inst() { echo "inst $*" >> "$log"; }
  inst_hook() { echo "inst_hook $*" >> "$log"; }
  require_binaries() { local b; for b; do command -v "$b" >/dev/null || return 1; done; }
  moddir=$PWD/contrib/dracut/90vpc-imds initdir="$1/initdir"
  . contrib/dracut/90vpc-imds/module-setup.sh
  PATH="$1/path:$PATH"
  rc=0; check || rc=$?; [ "$rc" -eq 255 ]            # only when asked for
  [ "$(depends)" = network ]
  install
  grep -qx "inst $1/path/vpc-imds /usr/bin/vpc-imds" "$log"
  grep -qx "inst_hook pre-mount 50 $moddir/vpc-imds-user-data.sh" "$log"
  grep -qx "rd.neednet=1" "$initdir/etc/cmdline.d/90vpc-imds.conf"
  [ -x "$moddir/vpc-imds-user-data.sh" ] && sh -n "$moddir/vpc-imds-user-data.sh"
  PATH=/nonexistent
  rc=0; check || rc=$?; [ "$rc" -eq 1 ]              # no binary: not included
' _ "$work"
check "shell scripts parse (sh -n)" bash -c "sh -n '$boot' && bash -n contrib/dracut/90vpc-imds/module-setup.sh"

echo "contrib: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
