"""client_registration with the saml2-entity-descriptor provider: a SAML client registered on its host from the SP's
entity descriptor, then read back (and converged) through the default provider; secret-free and idempotent."""
import json
import os
import stat
import subprocess

import pytest

from tests.integration.runner import ansible_env, run_module

ENTITY_ID = "https://wiki.example.com/saml/metadata"
# An SP's metadata carries its signing certificate; without one Keycloak generates a key pair for the client,
# which takes minutes of CPU on a busy machine.
DESCRIPTOR = """<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
                     entityID="%s">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true"
                      WantAssertionsSigned="true">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                                 Location="https://wiki.example.com/saml/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """The SP's signing certificate (base64 DER, as in metadata)."""
    directory = tmp_path_factory.mktemp("sp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=wiki.example.com",
                    "-days", "2", "-keyout", str(directory / "sp.key"), "-out", str(directory / "sp.pem")],
                   check=True, capture_output=True)
    return "".join(line for line in (directory / "sp.pem").read_text().splitlines() if "-----" not in line)


@pytest.fixture
def host_env(keycloak, counting_proxy):
    """An application host: the Keycloak URL (through the counting proxy), no admin credentials."""
    return ansible_env(None, KEYCLOAK_URL=counting_proxy.url)


def mint(env, proxy, realm):
    """An initial access token minted through the proxy: Keycloak binds it to the URL it was minted on."""
    run = run_module("initial_access_token", dict(realm=realm, state="present", expiration="1h"),
                     dict(env, KEYCLOAK_URL=proxy.url))
    assert run.rc == 0, run.output
    return run.result["token"]


def register(env, realm, path, certificate, entity_id=ENTITY_ID, **args):
    args = dict(realm=realm, provider="saml2-entity-descriptor", entity_descriptor=DESCRIPTOR % (entity_id, certificate),
                credentials_file=str(path), **args)
    return run_module("client_registration", args, env, check=args.pop("check", False), verbosity=3, diff=True)


def writes(proxy):
    return [call for call in proxy.calls if call[0] in ("POST", "PUT", "DELETE")]


def test_saml_client_from_its_entity_descriptor(realm, oracle, env, host_env, counting_proxy, tmp_path, certificate):
    path = tmp_path / "wiki.json"
    iat = mint(env, counting_proxy, realm)
    first = register(host_env, realm, path, certificate, initial_access_token=iat, metadata={"description": "wiki (SAML)"})
    assert first.rc == 0 and first.result["changed"] is True, first.output
    data = json.loads(path.read_text())
    assert data["client_id"] == ENTITY_ID and data["registration_access_token"]
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    for value in (data["registration_access_token"], data["secret"], iat):
        assert value not in first.output
    client = oracle.get_client(oracle.get_client_id(ENTITY_ID))
    assert client["protocol"] == "saml" and client["description"] == "wiki (SAML)"
    assert "https://wiki.example.com/saml/acs" in json.dumps(client)

    counting_proxy.reset()
    again = register(host_env, realm, path, certificate, metadata={"description": "wiki (SAML)"})
    assert again.rc == 0 and again.result["changed"] is False, again.output
    assert writes(counting_proxy) == [], counting_proxy.calls
    assert json.loads(path.read_text()) == data


def test_check_mode_registers_nothing_and_bad_descriptors_are_one_line(realm, oracle, env, host_env, counting_proxy,
                                                                       tmp_path, certificate):
    iat = mint(env, counting_proxy, realm)
    counting_proxy.reset()
    other = "https://other.example.com/saml"
    checked = register(host_env, realm, tmp_path / "checked.json", certificate, entity_id=other, check=True)
    assert checked.rc == 0 and checked.result["changed"] is True, checked.output
    assert oracle.get_client_id(other) is None and not (tmp_path / "checked.json").exists()

    broken = run_module("client_registration", dict(
        realm=realm, provider="saml2-entity-descriptor", entity_descriptor="<md:EntityDescriptor",
        credentials_file=str(tmp_path / "broken.json"), initial_access_token=iat), host_env)
    assert broken.rc != 0 and broken.result["msg"].startswith("entity_descriptor is not well-formed XML")
    mismatch = register(host_env, realm, tmp_path / "mismatch.json", certificate, entity_id=other, client_id="wiki",
                        initial_access_token=iat)
    assert mismatch.rc != 0 and "differs from the entityID" in mismatch.result["msg"]
    assert "\n" not in broken.result["msg"] + mismatch.result["msg"]
    assert writes(counting_proxy) == [], counting_proxy.calls
    assert oracle.get_client_id(other) is None


def private_key(directory, name):
    """A fresh private key as Keycloak keeps one in a SAML client's attributes (base64 PKCS#8, no armour)."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                         check=True, capture_output=True, text=True).stdout
    (directory / name).write_text(pem)
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def test_private_keys_of_a_saml_client_never_show(realm, oracle, env, host_env, counting_proxy, tmp_path, certificate):
    """Keycloak answers a SAML client's signing and encryption private keys among its attributes: the result, the
    diff and the -vvv output show them masked, also when the module returns the client's secret."""
    entity_id = "https://keys.example.com/saml/metadata"
    path = tmp_path / "keys.json"
    first = register(host_env, realm, path, certificate, entity_id=entity_id,
                     initial_access_token=mint(env, counting_proxy, realm))
    assert first.rc == 0, first.output
    uuid = oracle.get_client_id(entity_id)
    keys = {name: private_key(tmp_path, name) for name in ("saml.signing.private.key", "saml.encryption.private.key")}
    client = oracle.get_client(uuid)
    client["attributes"].update(keys)
    oracle.update_client(uuid, client)

    run = register(host_env, realm, path, certificate, entity_id=entity_id, metadata={"description": "keys"},
                   return_secret=True)
    assert run.rc == 0 and run.result["changed"] is True, run.output
    for name, value in keys.items():
        assert value not in run.output, name
        assert run.result["registered"]["attributes"][name] == "********"
    assert run.result["secret"] == json.loads(path.read_text())["secret"], "the returned secret is the client's"
