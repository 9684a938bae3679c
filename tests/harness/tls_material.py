"""TLS material of the tests: a throwaway CA, a server certificate for localhost and a client certificate."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from .keycloak_dist import HarnessUnavailable, StartError

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def make_certs(directory: Path) -> dict[str, Path]:
    """Throwaway CA + server cert (localhost, 127.0.0.1) + client cert, as PEM files.

    The extensions satisfy Python 3.13's VERIFY_X509_STRICT default, so
    ssl.create_default_context(cafile=ca.pem) accepts the server.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cnf = directory / "openssl.cnf"
    cnf.write_text(_OPENSSL_CNF)
    p = {n: directory / n for n in ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")}
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        try:
            subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise HarnessUnavailable("openssl is needed to generate test certificates") from exc
        except subprocess.CalledProcessError as exc:
            raise StartError(f"openssl {args[0]} failed: {exc.stderr.strip()}") from exc

    openssl("req", "-x509", "-config", cnf, "-extensions", "ca_ext", *newkey, "-days", "7",
            "-subj", "/CN=keycloak_ops test CA", "-keyout", p["ca.key"], "-out", p["ca.pem"])
    for name, cn in (("server", "localhost"), ("client", "keycloak_ops test client")):
        csr = directory / f"{name}.csr"
        openssl("req", "-new", "-config", cnf, *newkey, "-subj", f"/CN={cn}",
                "-keyout", p[f"{name}.key"], "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
                "-set_serial", str(secrets.randbits(63)), "-days", "7",
                "-extfile", cnf, "-extensions", f"{name}_ext", "-out", p[f"{name}.pem"])
    return p
