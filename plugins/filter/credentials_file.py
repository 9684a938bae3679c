# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: credentials_file
short_description: Render OAuth client credentials as the file a consumer reads
version_added: 1.0.0
description:
  - Maps client credentials to the key names a consumer expects (a preset or a custom mapping)
    and renders them as an env file, JSON, YAML or Java properties.
author:
  - keycloak_ops maintainers (@keycloak-ops)
positional: format
options:
  _input:
    description:
      - One client's credentials, a dict with C(client_id), C(client_secret) and optionally C(token_url) and
        C(issuer_url), such as an entry of what P(keycloak_ops.clients.client_credentials#filter) returns, which is
        keyed by client id (C(credentials['billing-worker'])). The whole keyed dict is refused with a message naming
        the entry to pick.
    type: dict
    required: true
  format:
    description: File format.
    type: str
    choices: [env, json, yaml, properties]
    default: env
  preset:
    description:
      - Key names of a consumer. V(generic) gives C(OIDC_CLIENT_ID), C(OIDC_CLIENT_SECRET), C(OIDC_TOKEN_URL) and
        C(OIDC_ISSUER_URL); V(mlflow) C(OIDC_CLIENT_ID), C(OIDC_CLIENT_SECRET) and C(OIDC_TOKEN_URL);
        V(phoenix) C(PHOENIX_OAUTH2_CLIENT_ID) and C(PHOENIX_OAUTH2_CLIENT_SECRET); V(otel_collector)
        C(MLFLOW_CLIENT_ID) and C(MLFLOW_CLIENT_SECRET).
    type: str
    choices: [generic, mlflow, phoenix, otel_collector]
    default: generic
  keys:
    description:
      - Custom key names, a dict of field (C(client_id), C(client_secret), C(token_url), C(issuer_url)) to key.
        Given fields replace the preset's; a field mapped to an empty name is left out.
    type: dict
"""

EXAMPLES = r"""
# credentials: client id -> credentials, as the client_credentials filter makes them from the results of a client
# module run with return_secret: true.
- name: An env file for MLflow, born readable by its owner only
  keycloak_ops.clients.secret_file:
    path: /etc/mlflow/oidc.env
    content: "{{ credentials['mlflow-tracking'] | keycloak_ops.clients.credentials_file('env', preset='mlflow') }}"
    secrets: ["{{ credentials['mlflow-tracking'].client_secret }}"]

- name: The same credentials as Java properties, with key names of the consumer's own and no issuer URL
  keycloak_ops.clients.secret_file:
    path: /etc/mlflow/oidc.properties
    content: >-
      {{ credentials['mlflow-tracking'] | keycloak_ops.clients.credentials_file('properties',
         keys={'client_id': 'oidc.client-id', 'client_secret': 'oidc.client-secret', 'token_url': 'oidc.token-url',
               'issuer_url': ''}) }}
    secrets: ["{{ credentials['mlflow-tracking'].client_secret }}"]
"""

RETURN = r"""
_value:
  description: The file content, ending with a newline.
  type: str
"""

import json
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.keycloak_ops.clients.plugins.plugin_utils._delivery_presets import CONSUMER_PRESETS, CREDENTIAL_FIELDS

# Values made only of these need no quoting in an env file read by a shell, systemd or docker --env-file.
ENV_SAFE = re.compile(r'^[A-Za-z0-9_./:@%+,=-]*$')


def credential_pairs(credentials, preset='generic', keys=None):
    """[(key, value)] in field order, for the fields the mapping names and the credentials hold."""
    if preset not in CONSUMER_PRESETS:
        raise AnsibleFilterError("credentials_file: unknown preset '%s'; choose one of %s"
                                 % (preset, ', '.join(sorted(CONSUMER_PRESETS))))
    mapping = dict(CONSUMER_PRESETS[preset], **(keys or {}))
    unknown = sorted(set(mapping) - set(CREDENTIAL_FIELDS))
    if unknown:
        raise AnsibleFilterError("credentials_file: unknown field '%s' in keys; fields are %s"
                                 % (unknown[0], ', '.join(CREDENTIAL_FIELDS)))
    if 'client_id' not in credentials and credentials and all(
            isinstance(v, dict) and 'client_id' in v for v in credentials.values()):
        raise AnsibleFilterError("credentials_file: these are the credentials of clients keyed by client id (%s), as "
                                 "client_credentials returns them; give one client's: credentials['%s']"
                                 % (', '.join(sorted(credentials)), sorted(credentials)[0]))
    for required in ('client_id', 'client_secret'):
        if required in mapping and mapping[required] and not credentials.get(required):
            raise AnsibleFilterError("credentials_file: the credentials have no %s" % required)
    return [(mapping[f], to_text(credentials[f])) for f in CREDENTIAL_FIELDS
            if mapping.get(f) and credentials.get(f) is not None]


def _env_value(value):
    if ENV_SAFE.match(value):
        return value
    return "'%s'" % value.replace("'", "'\\''")


def _properties_escape(text, key=False):
    text = text.replace('\\', '\\\\').replace('\n', '\\n')
    if key:
        text = text.replace('=', '\\=').replace(':', '\\:').replace(' ', '\\ ')
    return text


def credentials_file(credentials, format='env', preset='generic', keys=None):  # pylint: disable=redefined-builtin
    pairs = credential_pairs(credentials, preset, keys)
    if format == 'env':
        return ''.join('%s=%s\n' % (k, _env_value(v)) for k, v in pairs)
    if format == 'json':
        return json.dumps(dict(pairs), indent=2, sort_keys=False) + '\n'
    if format == 'yaml':
        # JSON strings are valid YAML scalars, and keep the secret exactly as it is.
        return ''.join('%s: %s\n' % (k, json.dumps(v)) for k, v in pairs)
    if format == 'properties':
        return ''.join('%s=%s\n' % (_properties_escape(k, key=True), _properties_escape(v)) for k, v in pairs)
    raise AnsibleFilterError("credentials_file: unknown format '%s'; choose env, json, yaml or properties" % format)


class FilterModule(object):
    def filters(self):
        return {'credentials_file': credentials_file}
