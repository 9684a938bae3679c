# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The credentials file of a self-registered client (JSON: client id, secret, registration access token), kept
owner-only: read, checked writable before registering, and replaced atomically (by _files/private_file.py's
writer, which client_registration's adapter configuration file shares)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import tempfile

from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.private_file import (
    PrivateFileError, make_directories, missing_directories, write_private,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError


def read_credentials(path):
    """The stored registration, or None when the file does not exist yet."""
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise RegistrationError("Cannot read credentials_file %s: %s" % (path, exc)) from exc
    except ValueError:
        raise RegistrationError("credentials_file %s is not JSON written by client_registration: move it away "
                                "or choose another path" % path) from None
    if not isinstance(data, dict) or not data.get('registration_access_token'):
        raise RegistrationError("credentials_file %s holds no registration_access_token: move it away or choose "
                                "another path" % path)
    return data


def private_mode_ok(path):
    return not stat.S_IMODE(os.stat(path).st_mode) & 0o077


def make_private_directories(path):
    """Create every missing directory above path owner-only (os.makedirs gives them 0777 minus umask).

    The umask may have narrowed 0700 further, and 0700 is what the docs promise: the mode is set on each new
    directory's descriptor, opened through its parent's without following a symlink (make_directories).
    """
    make_directories(missing_directories(path), 0o700, os.geteuid(), os.getegid())


def check_writable(path):
    """Fail before registering if the credentials cannot be stored: a registration whose RAT is lost is orphaned."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        make_private_directories(path)
        handle, probe = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        os.close(handle)
        os.unlink(probe)
    except (IOError, OSError, PrivateFileError) as exc:
        raise RegistrationError("Cannot write credentials_file %s: %s; nothing was registered" % (path, exc)) from exc


def write_private_json(path, data):
    """Replace path atomically with data as JSON, owner-only from the first byte (and its missing directories)."""
    text = json.dumps(data, indent=2, sort_keys=True) + '\n'
    try:
        make_private_directories(path)
        write_private(path, text.encode('utf-8'), 0o600, os.geteuid(), os.getegid())
    except PrivateFileError as exc:
        raise RegistrationError(str(exc)) from exc
