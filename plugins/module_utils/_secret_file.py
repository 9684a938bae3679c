# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The run of secret_file: a file holding secrets, born with its final owner and mode (_private_file.py), a diff
that shows only what is safe to show."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

from ansible_collections.keycloak_ops.clients.plugins.module_utils._masking import masked
from ansible_collections.keycloak_ops.clients.plugins.module_utils._private_file import (
    file_state, make_directories, masked_previous, missing_directories, set_attributes, write_private,
)


def octal_mode(module, name):
    try:
        mode = int(module.params[name], 8)
    except (TypeError, ValueError):
        mode = -1
    if not 0 <= mode <= 0o7777:
        module.fail_json(msg='%s must be an octal mode such as 0600, not %r' % (name, module.params[name]))
    return mode


def ids(module, owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid if owner else os.geteuid()
        gid = grp.getgrnam(group).gr_gid if group else (pwd.getpwuid(uid).pw_gid if owner else os.getegid())
    except KeyError as exc:
        module.fail_json(msg='Cannot write %s: unknown user or group %s' % (module.params['path'], exc))
    return uid, gid


def run_secret_file(module):
    """Write (or check) the file of a KeycloakModule built with connection=None."""
    params = module.params
    path = params['path']
    mode = octal_mode(module, 'mode')
    directory_mode = octal_mode(module, 'directory_mode')
    uid, gid = ids(module, params['owner'], params['group'])
    dir_uid, dir_gid = ids(module, params['directory_owner'] or params['owner'],
                           params['directory_group'] or params['group'])
    secrets = params['secrets']
    data = params['content'].encode('utf-8')
    with module.failing(path=path):
        directories = missing_directories(path)
        current, current_mode, current_uid, current_gid = (None, None, None, None) if directories else file_state(path)
        content_changed = current != data
        attributes_changed = current is not None and (current_mode, current_uid, current_gid) != (mode, uid, gid)
        if not module.check_mode:
            make_directories(directories, directory_mode, dir_uid, dir_gid)
            if content_changed:
                write_private(path, data, mode, uid, gid)
            elif attributes_changed:
                set_attributes(path, mode, uid, gid)

    changed = content_changed or attributes_changed
    verb = 'would write' if module.check_mode else 'wrote'
    if content_changed:
        msg = '%s %s' % (verb, path)
    elif attributes_changed:
        msg = '%s owner/mode of %s' % ('would set' if module.check_mode else 'set', path)
    else:
        msg = '%s is up to date' % path
    if directories:
        msg += ' (%s directories %s)' % ('would create' if module.check_mode else 'created', ', '.join(directories))
    result = dict(changed=changed, path=path, created_directories=directories, msg=msg)
    if module._diff:
        new_text = params['diff_content'] if params['diff_content'] is not None else params['content']
        if params['diff_previous'] is not None:
            old_text = params['diff_previous'] if current is not None else ''
        else:
            old_text = current.decode('utf-8', 'replace') if current is not None else ''
        result['diff'] = [dict(before_header=path, after_header=path,
                               before=masked_previous(old_text, new_text, secrets), after=masked(new_text, secrets))]
        if attributes_changed:
            result['diff'].append(dict(
                before=dict(path=path, mode='%04o' % (current_mode or 0), owner=current_uid, group=current_gid),
                after=dict(path=path, mode='%04o' % mode, owner=uid, group=gid)))
    module.exit_json(**result)
