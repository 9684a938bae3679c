# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Files that hold secrets, born with their final owner and mode, and their diffs with the secrets masked.

The one writer of such files (secret_file's files, client_registration's credentials and adapter files): a
copy-then-chmod leaves the new file with the temporary file's mode for a moment; here the temporary file is
created empty with O_EXCL and mode 0600, given its final owner and mode, and only then written and renamed
over the destination, so no byte of the secret is ever readable by anyone else. The file is synced before the
rename and its directory after it, so a crash leaves the old file or the new one, never a torn or a lost one.

Owner and mode are set on an open descriptor, never by path: whoever may write a directory on the way can swap a
symlink in between a check and a chown by path, and root would then chown the file the symlink names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import stat

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import MASK, masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import OneLineError

# Opens that never follow a symlink in the last component; O_NONBLOCK so a FIFO swapped in cannot block the open.
NO_FOLLOW = getattr(os, 'O_NOFOLLOW', 0)
FILE_FLAGS = os.O_RDONLY | NO_FOLLOW | getattr(os, 'O_NONBLOCK', 0)
DIRECTORY_FLAGS = os.O_RDONLY | NO_FOLLOW | getattr(os, 'O_DIRECTORY', 0)

PREVIOUS = MASK + ' (previous)'
HIDDEN_LINE = MASK + ' (line hidden)'


class PrivateFileError(OneLineError):
    """A one-line reason naming the path; never holds file content."""


def file_state(path):
    """(content bytes or None, mode, uid, gid) of path; content None when it does not exist."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None, None, None
        raise PrivateFileError('Cannot read %s: %s' % (path, exc.strerror)) from exc
    if not stat.S_ISREG(info.st_mode):
        raise PrivateFileError('Cannot write %s: it exists and is not a regular file' % path)
    try:
        with os.fdopen(_open_regular(path), 'rb') as stream:
            info = os.fstat(stream.fileno())
            return stream.read(), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot read %s: %s' % (path, _reason(exc))) from exc


def _reason(exc):
    if exc.errno == errno.ELOOP:
        return 'a symlink was put in its place, and it is not followed'
    return exc.strerror or str(exc)


def _open_regular(path):
    """A descriptor of the regular file at path itself; a symlink or anything else swapped in is refused."""
    handle = os.open(path, FILE_FLAGS)
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise OSError(errno.EINVAL, 'it is no longer a regular file')
    return handle


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
    """Each directory (outermost first, each inside the one before) created owner-only, then given its declared owner
    and mode on its open descriptor (never wider on the way). Each is created and opened through the descriptor of
    the one above it, without following a symlink, and must be the directory this run created."""
    if not directories:
        return
    parent = None
    directory = os.path.dirname(directories[0])
    try:
        parent = os.open(directory, DIRECTORY_FLAGS)
        for directory in directories:
            name = os.path.basename(directory)
            os.mkdir(name, 0o700, dir_fd=parent)
            try:
                child = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
            except OSError as exc:
                # What was just made a directory is not one now: a symlink (or a file) was put in its place.
                raise OSError(errno.ELOOP if exc.errno == errno.ENOTDIR else exc.errno, exc.strerror) from exc
            os.close(parent)
            parent = child
            if os.fstat(child).st_uid != os.geteuid():
                raise OSError(errno.EPERM, 'another user replaced it while it was being created')
            os.fchown(child, uid, gid)
            os.fchmod(child, mode)
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot create directory %s: %s' % (directory, _reason(exc))) from exc
    finally:
        if parent is not None:
            os.close(parent)


def write_private(path, data, mode, uid, gid):
    """Replace path atomically with data (bytes); the new file has owner uid:gid and mode before it holds a byte,
    and both the file and the rename are on disk when this returns."""
    directory, name = os.path.split(os.path.abspath(path))
    temporary = None
    try:
        for attempt in range(100):
            candidate = os.path.join(directory, '.%s.%d.%d.tmp' % (name, os.getpid(), attempt))
            try:
                handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW, 0o600)
            except OSError as exc:
                if exc.errno == errno.EEXIST:  # a leftover of another run, try the next name
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
        sync_directory(directory)
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot write %s: %s' % (path, exc.strerror)) from exc
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


def sync_directory(directory):
    """Put a rename in directory on disk: without it a crash can bring back the old entry, or none."""
    handle = os.open(directory, DIRECTORY_FLAGS)
    try:
        os.fsync(handle)
    except OSError as exc:
        # A filesystem that cannot sync a directory (EINVAL) makes its renames as durable as it can by itself.
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(handle)


def set_attributes(path, mode, uid, gid):
    """Owner first, then mode: narrowing a mode of content already there never widens who can read it."""
    try:
        handle = _open_regular(path)
        try:
            os.fchown(handle, uid, gid)
            os.fchmod(handle, mode)
        finally:
            os.close(handle)
    except (IOError, OSError) as exc:
        raise PrivateFileError('Cannot set owner/mode of %s: %s' % (path, _reason(exc))) from exc


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
