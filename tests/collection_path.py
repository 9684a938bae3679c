"""Expose the checkout as ansible_collections/keycloak_ops/clients without touching the repo tree."""
import hashlib
import os
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def collections_root():
    """A per-checkout directory holding ansible_collections/keycloak_ops/clients -> this checkout."""
    tag = hashlib.sha256(REPO.encode()).hexdigest()[:12]
    root = os.path.join(tempfile.gettempdir(), "keycloak_ops-collections-" + tag)
    link = os.path.join(root, "ansible_collections", "keycloak_ops", "clients")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


if __name__ == "__main__":
    print(collections_root())
