#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: secret_file
short_description: Write files holding secrets, each born with its final owner and mode
version_added: 2.0.0
description:
  - Writes O(content) to O(path) so that no byte of it is ever readable by anyone the final owner and mode do not
    allow, not even for a moment. C(ansible.builtin.copy) renames a temporary file into place and sets the mode
    afterwards; this module creates the temporary file empty with mode C(0600), gives it its final owner and mode,
    writes, and renames it over O(path) (atomic, a reader sees the old or the new file, never a torn one).
  - Missing parent directories are created with O(directory_mode), O(directory_owner) and O(directory_group).
  - Rewrites the file only when its content differs; owner and mode are corrected in place otherwise.
  - The diff shows the content with every value of O(secrets) masked; lines of the previous content that may hold
    a secret are masked too.
author:
  - keycloak_ops maintainers (@keycloak-ops)
attributes:
  check_mode:
    description: Reports what would be written and which directories created, and writes nothing.
    support: full
  diff_mode:
    description: Content (secrets masked), owner and mode before and after.
    support: full
options:
  path:
    description:
      - The file to write.
      - Exactly one of O(path) and O(files) is required.
    type: path
  content:
    description: The whole content of the file; required with O(path).
    type: str
  files:
    description:
      - Many files in one task, one module run for all of them instead of one per loop item. Each item has O(path)
        and O(content) and may have any other option of this module; the top-level options are the defaults of
        every item.
      - Every file is written even when another one cannot be; the task then fails naming each file that was not.
    type: list
    elements: dict
    version_added: 2.0.0
    suboptions:
      path:
        description: The file to write.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      secrets:
        description: Values inside O(files[].content) that the diff masks.
        type: list
        elements: str
      diff_content:
        description: What the diff shows in place of O(files[].content).
        type: str
      diff_previous:
        description: What the diff shows as the previous content.
        type: str
      owner:
        description: Owner of the file.
        type: str
      group:
        description: Group of the file.
        type: str
      mode:
        description: Mode of the file, an octal string.
        type: str
      directory_mode:
        description: Mode of parent directories the module creates.
        type: str
      directory_owner:
        description: Owner of parent directories the module creates.
        type: str
      directory_group:
        description: Group of parent directories the module creates.
        type: str
  secrets:
    description: Values inside O(content) that the diff masks (the secrets it holds).
    type: list
    elements: str
    default: []
  diff_content:
    description:
      - What the diff shows in place of O(content), for example the plain text of an encrypted file (masked
        with O(secrets) as well).
    type: str
  diff_previous:
    description: What the diff shows as the previous content in place of the file itself (plain text of an encrypted file).
    type: str
  owner:
    description: Owner of the file; the user running the module when not given.
    type: str
  group:
    description: Group of the file; the primary group of O(owner) (or of the user running the module) when not given.
    type: str
  mode:
    description: Mode of the file, an octal string.
    type: str
    default: "0600"
  directory_mode:
    description: Mode of parent directories the module creates.
    type: str
    default: "0700"
  directory_owner:
    description: Owner of parent directories the module creates; O(owner) when not given.
    type: str
  directory_group:
    description: Group of parent directories the module creates; O(group) when not given.
    type: str
notes:
  - Run the task without C(no_log) to see the masked diff. O(content), O(secrets), O(diff_content) and
    O(diff_previous) are C(no_log) options, so their values never reach the output.
"""

EXAMPLES = r"""
# credentials: client id -> credentials, as the client_credentials filter makes them from the results of a client
# module run with return_secret: true.
- name: An env file readable by the service only, from its first byte
  keycloak_ops.clients.secret_file:
    path: /etc/billing/oidc.env
    content: "{{ credentials['billing-worker'] | keycloak_ops.clients.credentials_file('env') }}"
    secrets:
      - "{{ credentials['billing-worker'].client_secret }}"
    owner: billing
    mode: "0400"

- name: Every credential file of a host in one task
  keycloak_ops.clients.secret_file:
    files:
      - path: /etc/billing/oidc.env
        content: "{{ credentials['billing-worker'] | keycloak_ops.clients.credentials_file('env') }}"
        secrets: ["{{ credentials['billing-worker'].client_secret }}"]
      - path: /etc/reports/oidc.env
        content: "{{ credentials['report-job'] | keycloak_ops.clients.credentials_file('env') }}"
        secrets: ["{{ credentials['report-job'].client_secret }}"]
    mode: "0400"
"""

RETURN = r"""
path:
  description: The file written (or that would be written in check mode).
  returned: with O(path)
  type: str
created_directories:
  description: Parent directories created (or that would be created in check mode).
  returned: with O(path)
  type: list
  elements: str
msg:
  description: What was done or, in check mode, what would be done.
  returned: always
  type: str
files:
  description: With O(files), one result per file in the order given, each with RV(path), RV(created_directories),
    RV(msg) and C(changed) (and C(failed) for a file that could not be written).
  returned: with O(files)
  type: list
  elements: dict
  version_added: 2.0.0
"""

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.module import KeycloakModule
from ansible_collections.keycloak_ops.clients.plugins.module_utils._files.secret_file import run_secret_file


def main():
    module = KeycloakModule(dict(
        path=dict(type='path'),
        content=dict(type='str', no_log=True),
        files=dict(type='list', elements='dict', options=dict(
            path=dict(type='path', required=True),
            content=dict(type='str', required=True, no_log=True),
            secrets=dict(type='list', elements='str', no_log=True),
            diff_content=dict(type='str', no_log=True),
            diff_previous=dict(type='str', no_log=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='str'),
            directory_mode=dict(type='str'),
            directory_owner=dict(type='str'),
            directory_group=dict(type='str'),
        )),
        secrets=dict(type='list', elements='str', default=[], no_log=True),
        diff_content=dict(type='str', no_log=True),
        diff_previous=dict(type='str', no_log=True),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='str', default='0600'),
        directory_mode=dict(type='str', default='0700'),
        directory_owner=dict(type='str'),
        directory_group=dict(type='str'),
    ), connection=None, required_one_of=[('path', 'files')], mutually_exclusive=[('path', 'files')],
        required_by={'path': 'content'})
    run_secret_file(module)


if __name__ == '__main__':
    main()
