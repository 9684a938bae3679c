# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Self-registration through the Client Registration Service (/realms/<realm>/clients-registrations/<provider>).

Runs on the host that uses the client, with no admin credentials: an initial access token (IAT) creates the
client, and the registration access token (RAT) Keycloak answers with reads, updates and deletes it later.
Keycloak replaces the RAT on every update (and, in older versions, on every read) and kills the old one, so
the current RAT is written to the credentials file as soon as it arrives, before anything else can fail.

This file is the run (SelfRegistration); beside it: _registration/metadata.py (what is asked and compared),
_registration/service.py (the HTTP calls), _registration/credentials_file.py (the credentials file) and
_registration/refusals.py (the one-line messages of refusals).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.connection import segment
from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.masking import collect_secrets, mask
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.credentials_file import (
    check_writable, private_mode_ok, read_credentials, write_private_json,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import (
    CLIENT_ID_KEY, RAT_KEY, SAML, SECRET_KEY, desired_metadata, differences, merged, update_body,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import (
    RegistrationError, StaleToken,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.service import RegistrationService

FILE_KEYS = ('keycloak_url', 'realm', 'provider', 'client_id', 'id', 'secret', 'registration_access_token',
             'registration_client_uri', 'token_endpoint')


class SelfRegistration(object):
    """One module run: read the credentials file, then register, converge or delete the client."""

    def __init__(self, module):
        self.module = module
        self.params = params = module.params
        self.provider = params['provider']
        self.realm = params['realm']
        self.path = params['credentials_file']
        self.check_mode = module.check_mode
        self.desired = desired_metadata(params)
        self.stored = read_credentials(self.path)
        # The stored token and secret are hidden as soon as they are read; the secret is let go again only where
        # the result returns it (return_secret, KeycloakModule.exit_json).
        module.hide(collect_secrets(self.stored or {}))
        self._check_identity()
        self.service = RegistrationService(params, self.realm, self.provider, hide=module.hide)
        self.rat = None
        self.where = None
        self.rotated = False
        self.changed = False

    def _check_identity(self):
        stored, params = self.stored, self.params
        if not stored:
            return
        if stored.get('realm') != self.realm:
            raise RegistrationError("credentials_file %s holds client '%s' of realm '%s', not realm '%s': use another "
                                    "file per realm"
                                    % (self.path, stored.get('client_id'), stored.get('realm'), self.realm))
        wanted = params.get('client_id') or self.desired.get('clientId')
        if wanted and stored.get('client_id') != wanted:
            raise RegistrationError("credentials_file %s holds client '%s', not '%s': use another file per client, or "
                                    "state=absent with the old client_id first"
                                    % (self.path, stored.get('client_id'), wanted))

    @property
    def client_id(self):
        return (self.stored or {}).get('client_id') or self.params.get('client_id') or self.desired.get('clientId')

    # -- tokens and the file

    def _current_token(self):
        if self.stored:
            return self.stored['registration_access_token'], 'stored in %s' % self.path
        if self.params.get('registration_access_token'):
            return self.params['registration_access_token'], 'given in registration_access_token'
        return None, None

    def _read(self):
        """The registered client, read with the stored RAT, or with the given one if the stored one is stale."""
        self.rat, self.where = self._current_token()
        given = self.params.get('registration_access_token')
        try:
            return self.service.read(self.rat, self.client_id, self.where)
        except StaleToken:
            if not (self.stored and given and given != self.rat):
                raise
            self.rat, self.where = given, 'given in registration_access_token'
            return self.service.read(self.rat, self.client_id, self.where)

    def _keep(self, rep):
        """Store the credentials of a Keycloak answer.

        A replaced RAT is written even in check mode: the old one is dead.
        """
        rat = rep.get(RAT_KEY[self.provider]) or self.rat
        if rat:
            self.module.hide([rat])
        previous = self.stored or {}
        client_id = rep.get(CLIENT_ID_KEY[self.provider])
        new = dict(
            keycloak_url=self.service.base_url.rstrip('/'),
            realm=self.realm,
            provider=self.provider,
            client_id=client_id,
            # The openid-connect provider shows no internal id: Keycloak uses the client id it chose as the id.
            id=rep.get('id') or previous.get('id') or (client_id if self.provider == 'openid-connect' else None),
            secret=rep.get(SECRET_KEY[self.provider]),
            registration_access_token=rat,
            registration_client_uri=rep.get('registration_client_uri') or previous.get('registration_client_uri'),
            token_endpoint='%srealms/%s/protocol/openid-connect/token' % (self.service.base_url, segment(self.realm)),
        )
        # rotated: Keycloak replaced the token this request was sent with (self.rat is None for a registration).
        rotated = bool(self.rat) and rat != self.rat
        token_changed = rat != previous.get('registration_access_token')
        content = [k for k in FILE_KEYS if k != 'registration_access_token' and new.get(k) != previous.get(k)]
        mode_wrong = bool(previous) and not private_mode_ok(self.path)
        if token_changed or content or mode_wrong:
            if rotated or not self.check_mode:
                try:
                    write_private_json(self.path, new)
                except RegistrationError as exc:
                    raise RegistrationError("%s. Client '%s' is registered, but its current registration access token "
                                            "is lost: ask an admin to regenerate it and pass it as "
                                            "registration_access_token" % (exc, client_id)) from exc
            self.stored = new
        self.rotated = self.rotated or rotated
        self.rat, self.where = rat, 'stored in %s' % self.path
        # A token replaced by Keycloak is bookkeeping; a new file, new credentials, a token given to adopt or
        # repair the file, or a repaired file mode are changes on the host.
        self.changed = self.changed or bool(content) or mode_wrong or (token_changed and not rotated)

    # -- states

    def present(self):
        if self._current_token()[0] is None:
            return self._register()
        current = self._read()
        self._keep(current)
        changes = differences(self.desired, current, self.provider)
        before = self._view(current)
        if changes:
            self.changed = True
            if not self.check_mode:
                body = update_body(current, self.desired, self.provider)
                updated = self.service.update(self.rat, self.client_id, body, self.where)
                # The RAT used for the update is dead now: storing the new one comes before anything else.
                self._keep(updated)
                self._warn_not_taken(updated)
                current = updated
            else:
                current = merged(current, self.desired)
        self._adapter_config(registered=True)
        return current, before

    def _register(self):
        iat = self.params.get('initial_access_token')
        # Check mode predicts the registration without a token: a playbook's check run mints none to give.
        if not iat and not self.check_mode:
            raise RegistrationError("No credentials_file %s yet and no initial_access_token: give an initial access "
                                    "token (minted with keycloak_ops.clients.initial_access_token) to register the "
                                    "client, or registration_access_token to adopt a registered one" % self.path)
        self.changed = True
        if self.check_mode:
            self._adapter_config(registered=False)
            return dict(self.desired), {}
        check_writable(self.path)
        if self.provider == SAML:
            return self._register_saml(iat)
        created = self.service.create(iat, self.desired)
        self._keep(created)
        self._warn_not_taken(created)
        self._adapter_config(registered=True)
        return created, {}

    def _register_saml(self, iat):
        """Create from the descriptor, then lay O(metadata) over it through the default provider (one update)."""
        created = self.service.create_from_entity_descriptor(iat, self.params['entity_descriptor'])
        self._keep(created)
        if differences(self.desired, created, self.provider):
            created = self.service.update(self.rat, self.client_id, update_body(created, self.desired, self.provider),
                                          self.where)
            self._keep(created)
            self._warn_not_taken(created)
        return created, {}

    def absent(self):
        if self._current_token()[0] is None:
            return None, {}
        # Reading first tells a stale token from a client to delete, and shows what goes in the diff.
        current = self._read()
        self.rat = current.get(RAT_KEY[self.provider]) or self.rat
        self.changed = True
        if not self.check_mode:
            self.service.delete(self.rat, self.client_id, self.where)
            if os.path.exists(self.path):
                os.remove(self.path)
        return None, self._view(current)

    def _adapter_config(self, registered):
        path = self.params.get('adapter_config_file')
        if not path:
            return
        if not registered:
            self.changed = True
            return
        config = self.service.install(self.rat, self.client_id, self.where)
        try:
            with open(path, encoding='utf-8') as handle:
                unchanged = json.load(handle) == config and private_mode_ok(path)
        except (IOError, OSError, ValueError):
            unchanged = False
        if not unchanged:
            self.changed = True
            if not self.check_mode:
                write_private_json(path, config)

    def _warn_not_taken(self, answer):
        ignored = differences(self.desired, answer, self.provider)
        if ignored:
            self.module.warn("Keycloak did not register metadata %s as given (it ignores or rewrites them), so every "
                             "run will try to update them: drop them from metadata or give them as Keycloak answers"
                             % ', '.join(ignored))

    def _view(self, current):
        return {key: current.get(key) for key in self.desired}

    def result(self, current, before):
        stored = self.stored or {}
        secret = stored.get('secret')
        output = dict(
            changed=self.changed,
            realm=self.realm,
            provider=self.provider,
            client_id=stored.get('client_id') if stored else self.client_id,
            id=stored.get('id'),
            credentials_file=self.path,
            registration_access_token_rotated=self.rotated,
            registered=mask(current) if current else None,
        )
        if self.params['state'] == 'absent':
            output.update(client_id=self.client_id, registered=None)
        if self.params.get('return_secret') and self.params['state'] == 'present':
            output['secret'] = secret
        elif secret:
            self.module.hide([secret])
        if self.module._diff:
            after = self._view(current) if current else {}
            output['diff'] = dict(before=mask(before), after=mask(after))
        return output


def run_client_registration(module):
    """Register, converge or delete the client of a KeycloakModule built with connection='server'."""
    with module.failing():
        run = SelfRegistration(module)
        current, before = run.present() if module.params['state'] == 'present' else run.absent()
        output = run.result(current, before)
    module.exit_json(**output)
