"""Plain OAuth requests to the real Keycloak, as a consumer of a client would send them."""
import requests


def token_url(server, realm):
    return "%s/realms/%s/protocol/openid-connect/token" % (server.url, realm)


def client_credentials(server, realm, client_id, secret):
    """(HTTP status, JSON body) of a client-credentials grant."""
    response = requests.post(token_url(server, realm), timeout=30, verify=server.ca_path or True,
                             data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    return response.status_code, response.json()


def authorization_request(server, realm, client_id, redirect_uri, **extra):
    """The redirect Keycloak answers to a browser's authorization request (not followed)."""
    params = dict(client_id=client_id, response_type="code", redirect_uri=redirect_uri, scope="openid", **extra)
    return requests.get("%s/realms/%s/protocol/openid-connect/auth" % (server.url, realm), params=params,
                        allow_redirects=False, timeout=30, verify=server.ca_path or True)
