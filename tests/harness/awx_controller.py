"""Stand-ins of AWX's REST API (/api/v2) on loopback, for the playbooks that create AWX objects with awx.awx.

Each answers as AWX does (JSON, the product headers awx.awx checks) and applies AWX's own validation (``awx.py``):

* ``FakeController``: /api/v2/credential_types/ (list by name, create, update), a credential type refused as AWX
  refuses it (HTTP 400);
* ``FakeJobTemplateAPI``: what awx.awx.job_template and awx.awx.schedule use (organizations, projects, inventories,
  credentials and execution environments seeded by name; job templates with their survey_spec and credentials;
  schedules, whose extra_data must be answers the template's survey accepts).

Both are context managers; ``.url`` is the controller's address (CONTROLLER_HOST). ``FakeController`` answers reads
only with the token ``fake-token`` (CONTROLLER_OAUTH_TOKEN) and records every request (``.requests``);
``FakeJobTemplateAPI`` takes any token and records every write (``.writes``).
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .awx import AWXValidationError, survey_extra_vars, validate_like_awx, validate_survey_like_awx


class AWXRequestHandler(BaseHTTPRequestHandler):
    """Answers as AWX's API does: JSON, with the product headers awx.awx looks for."""

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def reply(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", "24.6.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")


class FakeAPI(object):
    """A stand-in of the controller on loopback, serving one handler class, for a with block."""

    def serve(self, handler):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FakeController(FakeAPI):
    """/api/v2/credential_types/ of AWX: list by name, create, update; validation as AWX applies it."""

    def __init__(self):
        self.items = {}
        self.requests = []
        controller = self

        class Handler(AWXRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                controller.requests.append(("GET", url.path))
                if self.headers.get("Authorization") != "Bearer fake-token":
                    return self.reply(401, {"detail": "Authentication credentials were not provided."})
                if url.path != "/api/v2/credential_types/":
                    return self.reply(404, {"detail": "Not found."})
                name = parse_qs(url.query).get("name", [None])[0]
                results = [item for item in controller.items.values() if name is None or item["name"] == name]
                self.reply(200, {"count": len(results), "next": None, "previous": None, "results": results})

            def do_POST(self):
                controller.requests.append(("POST", self.path))
                data = self.body()
                try:
                    validate_like_awx(data.get("inputs", {}), data.get("injectors", {}))
                except AWXValidationError as exc:
                    return self.reply(400, {"injectors": [str(exc)]})
                ident = len(controller.items) + 1
                item = dict(data, id=ident, type="credential_type", url="/api/v2/credential_types/%d/" % ident)
                controller.items[ident] = item
                self.reply(201, item)

            def do_PATCH(self):
                controller.requests.append(("PATCH", self.path))
                ident = int(self.path.rstrip("/").rsplit("/", 1)[1])
                data = self.body()
                try:
                    validate_like_awx(data.get("inputs", {}), data.get("injectors", {}))
                except AWXValidationError as exc:
                    return self.reply(400, {"injectors": [str(exc)]})
                controller.items[ident].update(data)
                self.reply(200, controller.items[ident])

        self.serve(Handler)


class FakeJobTemplateAPI(FakeAPI):
    """The parts of AWX's API that awx.awx.job_template and awx.awx.schedule use: lists filtered by field,
    create, update, a job template's survey_spec and credentials; a survey spec is refused as AWX refuses it, and a
    schedule's extra_data must be answers its template's survey accepts."""

    SEEDS = {"organizations": ["Default"], "projects": ["Keycloak"], "inventories": ["Apps"],
             "credentials": ["Keycloak apps", "Vault apps"], "execution_environments": ["keycloak-ops-ee"]}

    def __init__(self):
        self.items = {}  # (kind, id) -> item
        self.surveys = {}  # job template id -> survey spec
        self.credentials = {}  # job template id -> [credential ids]
        self.writes = []
        for kind, names in self.SEEDS.items():
            for name in names:
                self._add(kind, dict(name=name, organization=1))
        api = self

        class Handler(AWXRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")[2:]
                query = {k: v[0] for k, v in parse_qs(url.query).items() if k not in ("page_size", "page")}
                if len(parts) == 1:
                    kinds = ("job_templates",) if parts[0] == "unified_job_templates" else (parts[0],)
                    found = [item for (kind, _ident), item in sorted(api.items.items()) if kind in kinds
                             and all(str(item.get(k)) == v for k, v in query.items())]
                    return self.reply(200, {"count": len(found), "next": None, "previous": None, "results": found})
                if len(parts) == 3 and parts[2] == "survey_spec":
                    return self.reply(200, api.surveys.get(int(parts[1]), {}))
                if len(parts) == 3 and parts[2] == "credentials":
                    found = [{"id": i} for i in api.credentials.get(int(parts[1]), [])]
                    return self.reply(200, {"count": len(found), "next": None, "previous": None, "results": found})
                if len(parts) == 2 and (parts[0], int(parts[1])) in api.items:
                    return self.reply(200, api.items[(parts[0], int(parts[1]))])
                return self.reply(404, {"detail": "Not found."})

            def do_POST(self):
                parts = urlsplit(self.path).path.strip("/").split("/")[2:]
                data = self.body()
                api.writes.append(("POST", "/".join(parts)))
                try:
                    if len(parts) == 3 and parts[2] == "survey_spec":
                        validate_survey_like_awx(data)
                        api.surveys[int(parts[1])] = data
                        return self.reply(200, {})
                    if len(parts) == 3 and parts[2] == "credentials":
                        held = api.credentials.setdefault(int(parts[1]), [])
                        if data.get("disassociate"):
                            held.remove(data["id"])
                        else:
                            held.append(data["id"])
                        return self.reply(204)
                    if parts[0] == "schedules":
                        spec = api.surveys.get(data["unified_job_template"], {"spec": []})
                        survey_extra_vars(spec, data.get("extra_data") or {})
                    return self.reply(201, api._add(parts[0], data))
                except AWXValidationError as exc:
                    return self.reply(400, {"error": str(exc)})

            def do_PATCH(self):
                parts = urlsplit(self.path).path.strip("/").split("/")[2:]
                api.writes.append(("PATCH", "/".join(parts)))
                item = api.items[(parts[0], int(parts[1]))]
                item.update(self.body())
                self.reply(200, item)

        self.serve(Handler)

    def _add(self, kind, data):
        ident = 1 + sum(1 for k, _ident in self.items if k == kind)
        url = "/api/v2/%s/%d/" % (kind, ident)
        item = dict(data, id=ident, type=kind.rstrip("s"), url=url,
                    related={"survey_spec": url + "survey_spec/", "credentials": url + "credentials/"})
        self.items[(kind, ident)] = item
        return item

    def named(self, kind):
        return {item["name"]: item for (k, _ident), item in self.items.items() if k == kind}
