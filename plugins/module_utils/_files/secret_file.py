# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of secret_file: files holding secrets, each born with its final owner and mode (_files/private_file.py),
a diff that shows only what is safe to show. Many files in one run cost one module run instead of one per file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.private_file import (
    PrivateFileError, file_state, make_directories, masked_previous, missing_directories, set_attributes, write_private,
)


# Options of one file: the top-level ones, or those of an item of O(files) (the top-level ones are its defaults).
FILE_OPTIONS = ('path', 'content', 'secrets', 'diff_content', 'diff_previous', 'owner', 'group', 'mode',
                'directory_mode', 'directory_owner', 'directory_group')


def octal_mode(value, name):
    try:
        mode = int(value, 8)
    except (TypeError, ValueError):
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise PrivateFileError('%s must be an octal mode such as 0600, not %r' % (name, value))
    return mode


def ids(path, owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid if owner else os.geteuid()
        gid = grp.getgrnam(group).gr_gid if group else (pwd.getpwuid(uid).pw_gid if owner else os.getegid())
    except KeyError as exc:
        raise PrivateFileError('Cannot write %s: unknown user or group %s' % (path, exc)) from None
    return uid, gid


def file_specs(params):
    """One dict of FILE_OPTIONS per file: the top-level file, or each item of O(files) over the top-level defaults."""
    if not params.get('files'):
        return [{name: params.get(name) for name in FILE_OPTIONS}]
    return [{name: item.get(name) if item.get(name) is not None else params.get(name) for name in FILE_OPTIONS}
            for item in params['files']]


def write_file(spec, check_mode, diff):
    """Write (or check) one file; its result. Raises PrivateFileError (one line) when it cannot."""
    path = spec['path']
    mode = octal_mode(spec['mode'], 'mode')
    directory_mode = octal_mode(spec['directory_mode'], 'directory_mode')
    uid, gid = ids(path, spec['owner'], spec['group'])
    dir_uid, dir_gid = ids(path, spec['directory_owner'] or spec['owner'], spec['directory_group'] or spec['group'])
    secrets = spec['secrets'] or []
    data = spec['content'].encode('utf-8')
    directories = missing_directories(path)
    current, current_mode, current_uid, current_gid = (None, None, None, None) if directories else file_state(path)
    content_changed = current != data
    attributes_changed = current is not None and (current_mode, current_uid, current_gid) != (mode, uid, gid)
    if not check_mode:
        make_directories(directories, directory_mode, dir_uid, dir_gid)
        if content_changed:
            write_private(path, data, mode, uid, gid)
        elif attributes_changed:
            set_attributes(path, mode, uid, gid)

    changed = content_changed or attributes_changed
    verb = 'would write' if check_mode else 'wrote'
    if content_changed:
        msg = '%s %s' % (verb, path)
    elif attributes_changed:
        msg = '%s owner/mode of %s' % ('would set' if check_mode else 'set', path)
    else:
        msg = '%s is up to date' % path
    if directories:
        msg += ' (%s directories %s)' % ('would create' if check_mode else 'created', ', '.join(directories))
    result = dict(changed=changed, path=path, created_directories=directories, msg=msg)
    if diff:
        new_text = spec['diff_content'] if spec['diff_content'] is not None else spec['content']
        if spec['diff_previous'] is not None:
            old_text = spec['diff_previous'] if current is not None else ''
        else:
            old_text = current.decode('utf-8', 'replace') if current is not None else ''
        result['diff'] = [dict(before_header=path, after_header=path,
                               before=masked_previous(old_text, new_text, secrets), after=masked(new_text, secrets))]
        if attributes_changed:
            result['diff'].append(dict(
                before=dict(path=path, mode='%04o' % (current_mode or 0), owner=current_uid, group=current_gid),
                after=dict(path=path, mode='%04o' % mode, owner=uid, group=gid)))
    return result


def run_secret_file(module):
    """Write (or check) the file, or each file of O(files), of a KeycloakModule built with connection=None.

    Every file of O(files) is written even when another one cannot be (as a loop of single files would), and the
    failure names each file that was not.
    """
    specs = file_specs(module.params)
    if not module.params.get('files'):
        with module.failing(path=specs[0]['path']):
            result = write_file(specs[0], module.check_mode, module._diff)
        module.exit_json(**result)
    results, failures = [], []
    for index, spec in enumerate(specs):
        try:
            results.append(write_file(spec, module.check_mode, module._diff))
        except PrivateFileError as exc:
            failures.append('files[%d]: %s' % (index, exc))
            results.append(dict(changed=False, path=spec['path'], created_directories=[], msg=str(exc), failed=True))
    diffs = [d for r in results for d in r.pop('diff', [])]
    changed = [r for r in results if r['changed']]
    output = dict(changed=bool(changed), files=results, msg='%s %d of %d files' % (
        'would change' if module.check_mode else 'changed', len(changed), len(results)))
    if diffs:
        output['diff'] = diffs
    if failures:
        module.fail_json(**dict(output, msg='%d of %d files could not be written: %s' % (
            len(failures), len(specs), '; '.join(failures))))
    module.exit_json(**output)
