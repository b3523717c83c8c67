"""Entry point of the packaged TEST STAND-IN "minio" binary (a Python zip application).

The moto runtime it carries (runtime/ in this archive, with compiled
extensions) is unpacked once into VOLUME/.minio.sys/standin-runtime/<digest>/,
the only writable place the role's hardened unit leaves it, then the server
starts. See minio_standin.py.
"""
import hashlib
import os
import sys
import zipfile


def _volume(argv):
    args = argv[1:]
    skip = False
    vols = []
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--address", "--console-address", "--certs-dir"):
            skip = True
            continue
        if not a.startswith("-"):
            vols.append(a)
    return vols[0] if vols else None


def _unpack(archive, volume):
    with open(archive, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    dest = os.path.join(volume, ".minio.sys", "standin-runtime", digest)
    if not os.path.exists(os.path.join(dest, ".complete")):
        os.makedirs(dest, mode=0o700, exist_ok=True)
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if m.startswith("runtime/")]
            z.extractall(dest, members)
        open(os.path.join(dest, ".complete"), "w").close()
    return os.path.join(dest, "runtime")


def run():
    argv = sys.argv[1:]
    if argv[:1] == ["server"]:
        volume = _volume(argv)
        if volume and os.path.isdir(volume) and os.access(volume, os.W_OK):
            sys.path.insert(0, _unpack(sys.argv[0], volume))
    import minio_standin  # pylint: disable=import-outside-toplevel
    sys.exit(minio_standin.main(argv))


run()
