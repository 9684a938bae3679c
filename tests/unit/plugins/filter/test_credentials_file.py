import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak_ops.clients.plugins.filter.credentials_file import credentials_file

CREDS = dict(client_id="mlflow-tracking", client_secret="s3cr3t'with \"quotes\"",
             token_url="https://sso.example.com/realms/apps/protocol/openid-connect/token",
             issuer_url="https://sso.example.com/realms/apps")


def test_generic_env_has_all_four_keys_and_shell_safe_quoting():
    text = credentials_file(CREDS)
    assert text.splitlines()[0] == "OIDC_CLIENT_ID=mlflow-tracking"
    assert "OIDC_ISSUER_URL=https://sso.example.com/realms/apps" in text
    assert "OIDC_CLIENT_SECRET='s3cr3t'\\''with \"quotes\"'" in text


@pytest.mark.parametrize("preset,keys", [
    ("mlflow", ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_TOKEN_URL"]),
    ("phoenix", ["PHOENIX_OAUTH2_CLIENT_ID", "PHOENIX_OAUTH2_CLIENT_SECRET"]),
    ("otel_collector", ["MLFLOW_CLIENT_ID", "MLFLOW_CLIENT_SECRET"]),
])
def test_consumer_presets(preset, keys):
    assert list(json.loads(credentials_file(CREDS, "json", preset=preset))) == keys


def test_yaml_and_properties_round_trip_the_secret():
    assert yaml.safe_load(credentials_file(CREDS, "yaml"))["OIDC_CLIENT_SECRET"] == CREDS["client_secret"]
    props = credentials_file(dict(CREDS, client_secret="a=b:c\\d"), "properties", keys={"client_secret": "app.secret"})
    assert "app.secret=a=b:c\\\\d" in props


def test_custom_keys_replace_and_drop_fields():
    text = credentials_file(CREDS, "env", keys={"token_url": "", "issuer_url": "", "client_id": "APP_ID"})
    assert [line.split("=")[0] for line in text.splitlines()] == ["APP_ID", "OIDC_CLIENT_SECRET"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(preset="nope"), "unknown preset 'nope'"),
    (dict(keys={"password": "X"}), "unknown field 'password'"),
    (dict(format="toml"), "unknown format 'toml'"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        credentials_file(CREDS, **kwargs)


def test_missing_secret_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no client_secret"):
        credentials_file(dict(client_id="x"))


def test_credentials_keyed_by_client_id_name_the_entry_to_pick():
    # What client_credentials returns: one entry per client. The filter renders one client's file.
    keyed = {"billing-worker": dict(CREDS), "report-job": dict(CREDS, client_id="report-job")}
    with pytest.raises(AnsibleFilterError, match=r"keyed by client id \(billing-worker, report-job\).*"
                                                 r"credentials\['billing-worker'\]"):
        credentials_file(keyed)
    assert credentials_file(keyed["billing-worker"]) == credentials_file(CREDS)
