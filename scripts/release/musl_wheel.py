#!/usr/bin/env python3
"""Makes a zig-linked musllinux wheel name musl's libc the way musllinux expects.

    musl_wheel.py PATCHELF WHEEL
    musl_wheel.py --so PATCHELF FILE ARCH     (one shared object, e.g. a Node addon)

zig links musl extensions against a libc stub whose soname is `libc.so`. musl's
loader maps any `libc.*` name to itself, so the module loads on Alpine either way,
but the musllinux policy (PEP 656, auditwheel) whitelists the name Alpine's libc
carries, `libc.musl-<arch>.so.1`. This rewrites DT_NEEDED `libc.so` to that name in
every extension module of the wheel (patchelf --replace-needed), then rewrites the
RECORD hashes and sizes, in place. Idempotent.
"""
import base64
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def fix_so(patchelf: str, path: str, arch: str) -> bool:
    needed = subprocess.run([patchelf, "--print-needed", path], check=True,
                            capture_output=True, text=True).stdout.split()
    if "libc.so" not in needed:
        return False
    subprocess.run([patchelf, "--replace-needed", "libc.so", f"libc.musl-{arch}.so.1", path],
                   check=True)
    return True


def main() -> int:
    if sys.argv[1] == "--so":
        patchelf, path, arch = sys.argv[2:5]
        if fix_so(patchelf, path, arch):
            print(f"{os.path.basename(path)}: needs libc.musl-{arch}.so.1 (was libc.so)")
        return 0
    patchelf, wheel = sys.argv[1], sys.argv[2]
    m = re.search(r"musllinux_\d+_\d+_(\w+)\.whl$", wheel)
    if not m:
        print(f"{wheel}: not a musllinux wheel", file=sys.stderr)
        return 2
    soname = f"libc.musl-{m.group(1)}.so.1"
    with zipfile.ZipFile(wheel) as z:
        infos = z.infolist()
        files = {i.filename: z.read(i.filename) for i in infos}
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            if not name.endswith(".so"):
                continue
            path = os.path.join(tmp, "ext.so")
            with open(path, "wb") as f:
                f.write(data)
            if not fix_so(patchelf, path, m.group(1)):
                continue
            with open(path, "rb") as f:
                files[name] = f.read()
            changed.append(name)
    if not changed:
        return 0
    record = next(n for n in files if n.endswith(".dist-info/RECORD"))
    lines = []
    for line in files[record].decode().splitlines():
        name = line.split(",")[0]
        if name in changed:
            line = f"{name},{record_hash(files[name])},{len(files[name])}"
        lines.append(line)
    files[record] = ("\n".join(lines) + "\n").encode()
    out = wheel + ".tmp"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in infos:
            z.writestr(info, files[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    os.replace(out, wheel)
    for name in changed:
        print(f"{os.path.basename(wheel)}: {name} needs {soname} (was libc.so)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
