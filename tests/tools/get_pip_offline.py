# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py that ansible-test downloads.

ansible-test bootstraps pip in its sanity venvs with a get-pip.py fetched from
a host this machine cannot reach; it first looks in
~/.ansible/test/cache/get_pip_<version>.py and does not verify that file.
tests/runners/sanity.sh installs this script there. It bootstraps pip with the
standard library's ensurepip, then lets that pip install the requested
packages from the configured index (PyPI through /etc/pip.conf, which carries
the CA bundle this machine's registry traffic needs).
"""
import os
import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    env = dict(os.environ)
    # ensurepip leaves these set; they hide /etc/pip.conf and with it the CA bundle
    for name in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS"):
        env.pop(name, None)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)


if __name__ == "__main__":
    main()
