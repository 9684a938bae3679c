"""The Keycloak server harness of the tests.

It lives with the keycloak_dev role (roles/keycloak_dev/files/keycloak_server.py), so that pytest,
molecule, the demo and the role start Keycloak one and the same way.
"""
from roles.keycloak_dev.files.keycloak_server import (  # noqa: F401 pylint: disable=unused-import
    KEYCLOAK_LINES, KEYCLOAK_PREVIOUS_VERSION, KEYCLOAK_VERSION, HarnessUnavailable, KeycloakServer, StartError, main,
)
