# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Client presets: the settings a kind of application needs, so users declare intent, not flags.

The key names consumers read their credentials from (the delivery presets), used on the controller only, are in
plugins/plugin_utils/_delivery_presets.py.

A preset only fills options the user left unset; an explicit option always wins.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

CONFIDENTIAL_PRESETS = {
    # Service-to-service (client-credentials grant): no browser flows at all.
    'service': dict(service_accounts=True, standard_flow=False, direct_access_grants=False),
    # Web application with a server-side backend logging users in (authorization code flow).
    'web': dict(standard_flow=True, direct_access_grants=False),
}

PUBLIC_PRESETS = {
    # Browser single-page app: code flow with PKCE, no password grant.
    'spa': dict(standard_flow=True, direct_access_grants=False),
    # Mobile / desktop app: code flow with PKCE to a loopback or custom-scheme redirect.
    'native': dict(standard_flow=True, direct_access_grants=False),
    # Command-line tool: device authorization grant, no redirects needed.
    'cli': dict(standard_flow=False, direct_access_grants=False, device_authorization=True),
}


def apply_preset(options, presets):
    """Fill the unset options of one client from its preset; return the merged options."""
    name = options.get('preset')
    if not name:
        return dict(options)
    merged = dict(options)
    for key, value in presets[name].items():
        if merged.get(key) is None:
            merged[key] = value
    return merged
