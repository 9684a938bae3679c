"""Plain OAuth requests to the real Keycloak, as a consumer of a client would send them."""
import requests


def tls(server):
    """requests' verify and cert for this server: its CA, and its client certificate where it requires one."""
    return dict(verify=server.ca_path or True, cert=getattr(server, "requests_cert", None))


def token_url(server, realm):
    return "%s/realms/%s/protocol/openid-connect/token" % (server.url, realm)


def client_credentials(server, realm, client_id, secret):
    """(HTTP status, JSON body) of a client-credentials grant."""
    response = requests.post(token_url(server, realm), timeout=30, **tls(server),
                             data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    return response.status_code, response.json()


def authorization_request(server, realm, client_id, redirect_uri, **extra):
    """The redirect Keycloak answers to a browser's authorization request (not followed)."""
    params = dict(client_id=client_id, response_type="code", redirect_uri=redirect_uri, scope="openid", **extra)
    return requests.get("%s/realms/%s/protocol/openid-connect/auth" % (server.url, realm), params=params,
                        allow_redirects=False, timeout=30, **tls(server))


def granted_scopes(server, realm, client_id, secret, resource_server):
    """{resource name: set of scopes} Keycloak grants the service account of client_id on resource_server,
    evaluated by the token endpoint's UMA grant (response_mode=permissions); {} when nothing is granted."""
    status, body = client_credentials(server, realm, client_id, secret)
    assert status == 200, body
    response = requests.post(token_url(server, realm), timeout=30, **tls(server),
                             headers={"Authorization": "Bearer " + body["access_token"]},
                             data={"grant_type": "urn:ietf:params:oauth:grant-type:uma-ticket",
                                   "audience": resource_server, "response_mode": "permissions"})
    if response.status_code == 403 and response.json().get("error") == "access_denied":
        return {}
    assert response.status_code == 200, response.text
    return {p["rsname"]: set(p.get("scopes") or []) for p in response.json()}
