"""What a release of the collection documents: each plugin's version_added and the version_added of each option
(suboptions as dotted paths), read with ansible-doc, so doc fragments count as the user sees them; and each role
entry point's version_added and options (meta/argument_specs.yml).

`python -m tests.unit.version_metadata <commit>` writes the option set of the release made at that commit to
tests/unit/data/options-<version>.json (done once per release; test_version_metadata.py compares with it).
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "unit", "data")
PLUGIN_TYPES = (("module", "modules"), ("lookup", "lookup"), ("filter", "filter"))


def option_paths(options, prefix=""):
    """{dotted option path: its version_added or None}, suboptions included."""
    paths = {}
    for name, spec in (options or {}).items():
        path = prefix + name
        paths[path] = spec.get("version_added")
        paths.update(option_paths(spec.get("suboptions") or spec.get("options"), path + "."))
    return paths


def plugin_names(collection_dir, directory):
    folder = os.path.join(collection_dir, "plugins", directory)
    if not os.path.isdir(folder):
        return []
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_"))


def documented(collection_dir):
    """{"module:name" / "lookup:name" / "filter:name" / "role:name": {"version_added", "options"}} of the
    collection checked out at collection_dir (a directory ending in ansible_collections/keycloak_ops/clients)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(collection_dir)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=root, ANSIBLE_NOCOLOR="1")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    found = {}
    for plugin_type, directory in PLUGIN_TYPES:
        names = plugin_names(collection_dir, directory)
        if not names:
            continue
        completed = subprocess.run([ansible_doc, "-t", plugin_type, "--json"]
                                   + ["keycloak_ops.clients." + n for n in names],
                                   capture_output=True, text=True, env=env, cwd=root, check=True, timeout=300)
        for fqcn, entry in json.loads(completed.stdout).items():
            doc = entry["doc"]
            found["%s:%s" % (plugin_type, fqcn.rsplit(".", 1)[1])] = dict(
                version_added=doc.get("version_added"), options=option_paths(doc.get("options")))
    roles = os.path.join(collection_dir, "roles")
    for role in sorted(os.listdir(roles)) if os.path.isdir(roles) else []:
        specs = os.path.join(roles, role, "meta", "argument_specs.yml")
        if os.path.isfile(specs):
            with open(specs, encoding="utf-8") as handle:
                main = yaml.safe_load(handle)["argument_specs"]["main"]
            found["role:" + role] = dict(version_added=main.get("version_added"),
                                         options=option_paths(main.get("options")))
    return found


def write_release(commit):
    """Record the plugins, roles and option paths of the release made at commit."""
    with tempfile.TemporaryDirectory() as tmp:
        collection_dir = os.path.join(tmp, "ansible_collections", "keycloak_ops", "clients")
        os.makedirs(collection_dir)
        archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", collection_dir], input=archive, check=True)
        with open(os.path.join(collection_dir, "galaxy.yml"), encoding="utf-8") as handle:
            version = yaml.safe_load(handle)["version"]
        release = {key: sorted(value["options"]) for key, value in sorted(documented(collection_dir).items())}
    path = os.path.join(DATA, "options-%s.json" % version)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(dict(version=version, commit=commit, plugins=release), handle, indent=1, sort_keys=True)
        handle.write("\n")
    return path


if __name__ == "__main__":
    print(write_release(sys.argv[1]))
