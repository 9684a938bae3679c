"""The SAML provider's pure logic: the client id is the descriptor's entityID, contradictions are refused."""
import pytest

from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.metadata import (
    SAML, desired_metadata, entity_id,
)
from ansible_collections.keycloak_ops.clients.plugins.module_utils._registration.refusals import RegistrationError

DESCRIPTOR = '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.com/saml"/>'


def params(**given):
    return dict(dict(provider=SAML, state="present", metadata={}, client_id=None, entity_descriptor=DESCRIPTOR), **given)


def test_client_id_is_the_entity_id():
    expected = {"clientId": "https://sp.example.com/saml", "description": "sp"}
    assert desired_metadata(params(metadata={"description": "sp"})) == expected


@pytest.mark.parametrize("given, message", [
    (dict(entity_descriptor="<md:EntityDescriptor"), "not well-formed XML"),
    (dict(entity_descriptor="<EntitiesDescriptor/>"), "not a SAML 2.0 EntityDescriptor"),
    (dict(client_id="other"), "differs from the entityID"),
    (dict(entity_descriptor=None), "entity_descriptor is required"),
])
def test_refusals(given, message):
    with pytest.raises(RegistrationError, match=message):
        desired_metadata(params(**given))


def test_a_registered_client_needs_no_descriptor():
    assert desired_metadata(params(entity_descriptor=None, client_id="https://sp.example.com/saml")) == {
        "clientId": "https://sp.example.com/saml"}
    assert entity_id(DESCRIPTOR) == "https://sp.example.com/saml"
