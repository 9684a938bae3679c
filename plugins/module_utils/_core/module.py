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
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.items import (
    CLIENTS, client_items, given_secrets, item_label, items_argument_spec,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import connect
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection_options import (
    IGNORED_OPTIONS, ignored_options_warning, keycloak_argument_spec)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import OneLineError

# Shorter strings are too likely to appear elsewhere in output to be scrubbed as secrets.
MIN_SCRUBBED_LENGTH = 8
# The result key under which a module returns a secret as its job (documented: run such a task with no_log).
RETURNED_SECRET = 'secret'
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
    item_shape: how the items are addressed when they are not clients (_client_items.ItemShape).
    """

    def __init__(self, argument_spec=None, connection='admin', item_options=None, item_shape=CLIENTS, **kwargs):
        spec = connection_argument_spec(connection)
        if item_options is not None:
            spec.update(items_argument_spec(item_options, item_shape))
            one_or_many = [(item_shape.key, item_shape.plural)]
            kwargs['required_one_of'] = list(kwargs.get('required_one_of') or []) + one_or_many
            kwargs['mutually_exclusive'] = list(kwargs.get('mutually_exclusive') or []) + one_or_many
        spec.update(argument_spec or {})
        kwargs.setdefault('supports_check_mode', True)
        self.item_options = item_options
        self.item_shape = item_shape
        self._api = None
        super(KeycloakModule, self).__init__(argument_spec=spec, **kwargs)
        ignored = ignored_options_warning(self.params) if connection == 'admin' else None
        if ignored:
            self.warn(ignored)

    def _load_params(self):
        """Hide the secrets inside O(clients) items as soon as the parameters are read.

        The items are raw (a client id or a dict), so the spec cannot mark their secret options no_log: Ansible
        hides no_log suboptions only of lists declared elements=dict, which refuse a plain client id. Within
        AnsibleModule.__init__ a validation failure and the invocation log (syslog/journal) come right after
        the parameters are read, so this private hook is the one place early enough; it only adds values.
        """
        super(KeycloakModule, self)._load_params()
        if self.item_options:
            self.hide(given_secrets(self.params.get(self.item_shape.plural), self.item_options), declared=True)

    def hide(self, values, declared=False):
        """Keep values out of every output of this run (results, diffs, warnings, failures, logs).

        declared: values the user gave in secret options, hidden whatever their length, as Ansible hides no_log
        options; values read from Keycloak are hidden from MIN_SCRUBBED_LENGTH characters on.
        """
        minimum = 1 if declared else MIN_SCRUBBED_LENGTH
        self.no_log_values.update(v for v in values if isinstance(v, str) and len(v) >= minimum)

    def warn(self, warning, *args, **kwargs):
        """A warning scrubbed as it is made: the secrets a result returns are let go at exit (exit_json)."""
        super(KeycloakModule, self).warn(remove_values(warning, self.no_log_values), *args, **kwargs)

    def exit_json(self, **result):
        """Exit with the result; a secret it returns as RV(secret) (at the top or in RV(clients)) is the secret itself.

        Ansible scrubs every no_log value from the whole result, so a secret the user gave (a no_log option, or one
        hidden from O(clients) items) would be returned as VALUE_SPECIFIED_IN_NO_LOG_PARAMETER, and delivered as
        that. So everything but the returned secrets is scrubbed here, the invocation included, and only then are
        the returned secrets (and any hidden value inside one) let go for the scrubbing Ansible does at exit.
        """
        returned: list = [(None, result.pop(RETURNED_SECRET))] if isinstance(result.get(RETURNED_SECRET), str) else []
        returned += [(index, item.pop(RETURNED_SECRET)) for index, item in enumerate(result.get('clients') or [])
                     if isinstance(item, dict) and isinstance(item.get(RETURNED_SECRET), str)]
        if returned:
            result.setdefault('invocation', {'module_args': self.params})
            kept = {k: v for k, v in result.items() if v is None or isinstance(v, bool)}
            result = dict(remove_values(result, self.no_log_values), **kept)
            for index, value in returned:
                (result if index is None else result['clients'][index])[RETURNED_SECRET] = value
            self.no_log_values.difference_update([v for v in self.no_log_values
                                                  if any(v in value for _index, value in returned)])
        super(KeycloakModule, self).exit_json(**result)

    @property
    def api(self):
        """The authenticated KeycloakAPI of this run, connected on first use (a failure fails the module)."""
        if self._api is None:
            self._api = connect(self)
        return self._api

    @property
    def many(self):
        """Whether the clients were given as the list O(clients) (results then name items by index)."""
        return self.params.get(self.item_shape.plural) is not None

    def items(self):
        """The per-client options of this call: the single client, or each item of O(clients), validated."""
        with self.failing():
            return client_items(self.params, self.item_options, self.item_shape)

    def label(self, index, item):
        return item_label(index, item, self.many, self.item_shape)

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
        output.update(changed=any(r.get('changed') for r in results))
        output[self.item_shape.plural] = results
        if self._diff and any(d is not None for d in diffs):
            output['diff'] = [d for d, r in zip(diffs, results) if r['changed']] if self.many else diffs[0]
        if not self.many:
            output.update((k, v) for k, v in results[0].items() if k != 'changed')
        self.exit_json(**output)
