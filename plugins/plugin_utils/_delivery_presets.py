# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Consumer presets: the key names each application reads its OAuth client credentials from.

The one list of them: the credentials_file filter maps credentials with it, and a unit test holds the deliver
role's argument spec (the choices of each preset option) to it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The fields a credentials file can hold, in the order they are written.
CREDENTIAL_FIELDS = ('client_id', 'client_secret', 'token_url', 'issuer_url')

CONSUMER_PRESETS = {
    'generic': dict(client_id='OIDC_CLIENT_ID', client_secret='OIDC_CLIENT_SECRET',
                    token_url='OIDC_TOKEN_URL', issuer_url='OIDC_ISSUER_URL'),
    'mlflow': dict(client_id='OIDC_CLIENT_ID', client_secret='OIDC_CLIENT_SECRET', token_url='OIDC_TOKEN_URL'),
    'phoenix': dict(client_id='PHOENIX_OAUTH2_CLIENT_ID', client_secret='PHOENIX_OAUTH2_CLIENT_SECRET'),
    # The OpenTelemetry collector's MLflow exporter authenticates with these.
    'otel_collector': dict(client_id='MLFLOW_CLIENT_ID', client_secret='MLFLOW_CLIENT_SECRET'),
}
