# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""KeycloakModule: the AnsibleModule of every module of the collection.

It builds the argument spec (connection options + the module's own + the clients list), connects on first use
of `api` (one token, one session), hides secrets (`hide()`, the one place values join no_log_values), turns the
collection's one-line errors into failures (`failing()`) and gives results of many clients one shape
(`exit_items()`). A module file is its documentation, its own options and a call into its run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keycloak_ops.clients.plugins.module_utils._client_items import (
    client_items, given_secrets, item_label, items_argument_spec,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection import connect
from ansible_collections.keycloak_ops.clients.plugins.module_utils._connection_options import (
    IGNORED_OPTIONS, ignored_options_warning, keycloak_argument_spec)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._errors import OneLineError

# Shorter strings are too likely to appear elsewhere in output to be scrubbed as secrets.
MIN_SCRUBBED_LENGTH = 8
# The connection options that apply without an admin login (the Client Registration Service).
SERVER_OPTIONS = ('auth_keycloak_url', 'validate_certs', 'ca_path', 'client_cert', 'client_key', 'connection_timeout')


def connection_argument_spec(connection):
    """'admin': every connection option (doc fragment keycloak); 'server': SERVER_OPTIONS; None: none."""
    if connection is None:
        return {}
    spec = keycloak_argument_spec()
    if connection == 'server':
        return {name: spec[name] for name in SERVER_OPTIONS}
    return dict(spec, **IGNORED_OPTIONS)


class KeycloakModule(AnsibleModule):
    """An AnsibleModule with the collection's connection options, client items, secret hiding and result shape.

    argument_spec: the module's own options. connection: 'admin' (default), 'server' or None.
    item_options: per-client options of a module that addresses one client (client_id) or many (clients).
    """

    def __init__(self, argument_spec=None, connection='admin', item_options=None, **kwargs):
        spec = connection_argument_spec(connection)
        if item_options is not None:
            spec.update(items_argument_spec(item_options))
            kwargs['required_one_of'] = list(kwargs.get('required_one_of') or []) + [('client_id', 'clients')]
            kwargs['mutually_exclusive'] = list(kwargs.get('mutually_exclusive') or []) + [('client_id', 'clients')]
        spec.update(argument_spec or {})
        kwargs.setdefault('supports_check_mode', True)
        self.item_options = item_options
        self._api = None
        super(KeycloakModule, self).__init__(argument_spec=spec, **kwargs)
        if connection == 'admin' and ignored_options_warning(self.params):
            self.warn(ignored_options_warning(self.params))

    def _load_params(self):
        """Hide the secrets inside O(clients) items as soon as the parameters are read.

        The items are raw (a client id or a dict), so the spec cannot mark their secret options no_log: Ansible
        hides no_log suboptions only of lists declared elements=dict, which refuse a plain client id. Within
        AnsibleModule.__init__ a validation failure and the invocation log (syslog/journal) come right after
        the parameters are read, so this private hook is the one place early enough; it only adds values.
        """
        super(KeycloakModule, self)._load_params()
        if self.item_options:
            self.hide(given_secrets(self.params.get('clients'), self.item_options), declared=True)

    def hide(self, values, declared=False):
        """Keep values out of every output of this run (results, diffs, warnings, failures, logs).

        declared: values the user gave in secret options, hidden whatever their length, as Ansible hides no_log
        options; values read from Keycloak are hidden from MIN_SCRUBBED_LENGTH characters on.
        """
        minimum = 1 if declared else MIN_SCRUBBED_LENGTH
        self.no_log_values.update(v for v in values if isinstance(v, str) and len(v) >= minimum)

    @property
    def api(self):
        """The authenticated KeycloakAPI of this run, connected on first use (a failure fails the module)."""
        if self._api is None:
            self._api = connect(self)
        return self._api

    @property
    def many(self):
        """Whether the clients were given as the list O(clients) (results then name items by index)."""
        return self.params.get('clients') is not None

    def items(self):
        """The per-client options of this call: the single client, or each item of O(clients), validated."""
        with self.failing():
            return client_items(self.params, self.item_options)

    def label(self, index, item):
        return item_label(index, item, self.many)

    @contextmanager
    def failing(self, prefix=None, suffix='', **result):
        """Fail the module with the text of a one-line error raised inside, as 'prefix: error suffix'."""
        try:
            yield
        except OneLineError as exc:
            self.fail_json(msg='%s%s%s' % (prefix + ': ' if prefix else '', exc, suffix), **result)

    def exit_items(self, results, **output):
        """Exit with one result per client in RV(clients); the single-client form also has its fields at the top.

        A result's 'diff' goes to the task's diff: the single client's, or those of the changed clients.
        """
        diffs = [r.pop('diff', None) for r in results]
        output.update(changed=any(r.get('changed') for r in results), clients=results)
        if self._diff and any(d is not None for d in diffs):
            output['diff'] = [d for d, r in zip(diffs, results) if r['changed']] if self.many else diffs[0]
        if not self.many:
            output.update((k, v) for k, v in results[0].items() if k != 'changed')
        self.exit_json(**output)
