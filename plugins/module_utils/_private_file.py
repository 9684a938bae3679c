# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Files that hold secrets, born with their final owner and mode, and their diffs with the secrets masked.

A copy-then-chmod leaves the new file with the temporary file's mode for a moment; here the temporary file is
created empty with O_EXCL and mode 0600, given its final owner and mode, and only then written and renamed
over the destination, so no byte of the secret is ever readable by anyone else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import MASK, masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._errors import OneLineError

PREVIOUS = MASK + ' (previous)'
HIDDEN_LINE = MASK + ' (line hidden)'


class PrivateFileError(OneLineError):
    """A one-line reason naming the path; never holds file content."""


def file_state(path):
    """(content bytes or None, mode, uid, gid) of path; content None when it does not exist."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        if exc.errno == 2:
            return None, None, None, None
        raise PrivateFileError('Cannot read %s: %s' % (path, exc.strerror)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise PrivateFileError('Cannot write %s: it exists and is not a regular file' % path)
    try:
        with open(path, 'rb') as stream:
            return stream.read(), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot read %s: %s' % (path, exc.strerror)) from exc


def missing_directories(path):
    """The directories above path that do not exist, outermost first."""
    missing: list = []
    directory = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(directory):
        missing.insert(0, directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return missing


def make_directories(directories, mode, uid, gid):
    """Each directory created owner-only, then given its declared owner and mode (never wider on the way)."""
    for directory in directories:
        try:
            os.mkdir(directory, 0o700)
            os.chown(directory, uid, gid)
            os.chmod(directory, mode)
        except (IOError, OSError) as exc:
            raise PrivateFileError('Cannot create directory %s: %s' % (directory, exc.strerror)) from exc


def write_private(path, data, mode, uid, gid):
    """Replace path atomically with data; the new file has owner uid:gid and mode before it holds a byte."""
    directory, name = os.path.split(os.path.abspath(path))
    temporary = None
    try:
        for attempt in range(100):
            candidate = os.path.join(directory, '.%s.%d.%d.tmp' % (name, os.getpid(), attempt))
            try:
                handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600)
            except OSError as exc:
                if exc.errno == 17:  # EEXIST: a leftover of another run, try the next name
                    continue
                raise
            temporary = candidate
            break
        else:
            raise PrivateFileError('Cannot write %s: no free temporary name in %s' % (path, directory))
        with os.fdopen(handle, 'wb') as stream:
            os.fchown(stream.fileno(), uid, gid)
            os.fchmod(stream.fileno(), mode)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.rename(temporary, path)
        temporary = None
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot write %s: %s' % (path, exc.strerror)) from exc
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


def set_attributes(path, mode, uid, gid):
    """Owner first, then mode: narrowing a mode of content already there never widens who can read it."""
    try:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot set owner/mode of %s: %s' % (path, exc.strerror)) from exc


def masked_previous(previous, new, secrets):
    """The previous content as a diff may show it: lines the new content has verbatim are shown (masked), lines
    that differ only where the new content holds a secret show that value as the previous secret, masked; any
    other line is hidden, since it may hold a secret nobody told us about."""
    new_lines = new.splitlines()
    shown = {line: masked(line, secrets) for line in new_lines}
    patterns = []
    for line in new_lines:
        view = masked(line, secrets)
        if MASK in view:
            pattern = '^' + '(.+?)'.join(re.escape(part) for part in view.split(MASK)) + '$'
            patterns.append((re.compile(pattern), view.replace(MASK, PREVIOUS)))
    out = []
    for line in previous.splitlines():
        if line in shown:
            out.append(shown[line])
            continue
        for regex, view in patterns:
            if regex.match(line):
                out.append(view)
                break
        else:
            out.append(HIDDEN_LINE)
    return ''.join(line + '\n' for line in out)
