"""Secret leak check of scripts/molecule.sh.

    leak_check.py collect LAB_DIR OUT   # while the lab runs: every secret of the scenario, into OUT (0600)
    leak_check.py check OUT LOG...      # fails if a secret (or any JWT) appears in a log

Secrets: the current secret of every client of the lab realm (Keycloak's admin API, through the harness
state file), the secrets recorded before a rotation, and the secrets and registration access tokens of
self-registered hosts' credential files.
"""
import json
import os
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def admin_get(state, path, token):
    req = urllib.request.Request(state["url"] + "/admin" + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def collect(lab, out):
    lab = Path(lab)
    secrets = set()
    state_file = lab / "keycloak.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        form = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli",
                                       "username": state["admin_user"], "password": state["admin_password"]})
        with urllib.request.urlopen(state["url"] + "/realms/master/protocol/openid-connect/token",
                                    form.encode(), timeout=30) as resp:
            token = json.load(resp)["access_token"]
        for client in admin_get(state, "/realms/molecule/clients", token):
            if client.get("secret"):
                secrets.add(client["secret"])
        secrets.add(state["admin_password"])
    retired = lab / "retired-secrets.json"
    if retired.exists():
        secrets.update(json.loads(retired.read_text()).values())
    for path in lab.glob("hosts/*/root/**/*-client.json"):
        data = json.loads(path.read_text())
        secrets.update(v for k, v in data.items() if k in ("secret", "registration_access_token") and v)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(sorted(secrets), f)
    print("%d secrets collected" % len(secrets))
    return 0 if secrets else 1


def check(out, logs):
    secrets = json.loads(Path(out).read_text())
    found = 0
    for log in logs:
        text = ANSI.sub("", Path(log).read_text(errors="replace"))
        for i, secret in enumerate(secrets):
            if secret in text:
                print("LEAK: secret #%d appears in %s" % (i, log))
                found += 1
        if JWT.search(text):
            print("LEAK: a JWT appears in %s" % log)
            found += 1
    return 1 if found else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["collect"] and len(sys.argv) == 4:
        sys.exit(collect(sys.argv[2], sys.argv[3]))
    if sys.argv[1:2] == ["check"] and len(sys.argv) >= 4:
        sys.exit(check(sys.argv[2], sys.argv[3:]))
    sys.exit(__doc__)
