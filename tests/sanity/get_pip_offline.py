"""Stand-in for get-pip.py, whose host this network cannot reach.

ansible-test bootstraps pip in each sanity venv by running get-pip.py with the packages to install as
arguments; ensurepip (bundled with CPython) plus an ordinary pip install from the package index does the same.
"""
import subprocess
import sys

# get-pip.py options that pip install does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + [a for a in sys.argv[1:] if a not in GET_PIP_ONLY])
