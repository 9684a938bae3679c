# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The one undo journal of a client task: every write goes through write(), which records what was done, how to undo
it, or why it cannot be undone; after a failure the journal knows exactly which writes stand.

Writes run a few at a time (_core/parallel.py), so the journal is shared between threads and takes a lock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import KeycloakOpsError, Unavailable

DONE, UNKNOWN, UNDONE = 'done', 'unknown', 'undone'
# What an undo function returns when the answer shows that nothing was written (a create that met 409).
NOT_WRITTEN = 'not written'


class Entry(object):
    """One write: `what` a person reads, `undo` (method, path, body) or None, `final` why it cannot be undone."""

    def __init__(self, what, undo, final):
        self.what, self.undo, self.final = what, undo, final
        self.state = None  # in flight

    def label(self):
        return '%s (%s)' % (self.what, self.final) if self.final else self.what


class Journal(object):
    """Every write of one task in the order sent, and how to undo it."""

    def __init__(self, api):
        self.api = api
        self._lock = threading.Lock()
        self._entries = []

    def write(self, what, send, undo=None, final=None):
        """Send one write (send() returns what the request answered) and record it.

        undo: (method, path, body) that reverses it, or a function of send()'s answer returning that (a create
        learns its id from the answer, or says NOT_WRITTEN); None with `final` saying why it cannot be undone. A
        refused write did not happen and leaves no entry; one whose answer was lost (Unavailable) may stand and is
        named as such.
        """
        entry = Entry(what, None, final)
        with self._lock:
            self._entries.append(entry)
        try:
            answer = send()
        except Unavailable:
            entry.state = UNKNOWN
            raise
        except BaseException:
            with self._lock:
                self._entries.remove(entry)
            raise
        try:
            entry.undo = undo(answer) if callable(undo) else undo
        except Exception:  # pylint: disable=broad-exception-caught
            # The write stands, but its answer did not say how to take it back.
            entry.undo, entry.final = None, entry.final or 'its answer did not say how to undo it; fix by hand'
        if entry.undo == NOT_WRITTEN:
            with self._lock:
                self._entries.remove(entry)
        else:
            entry.state = DONE
        return answer

    def __bool__(self):
        return any(e.state in (DONE, UNKNOWN) for e in self._entries)

    __nonzero__ = __bool__

    def stands(self):
        """What a person reads of the writes that stand now, once each, in the order they were sent."""
        return _once(e.label() for e in self._entries if e.state == DONE)

    def may_stand(self):
        """Writes whose answer was lost: Keycloak may or may not have carried them out."""
        return _once(e.what for e in self._entries if e.state == UNKNOWN)

    def rollback(self):
        """Undo every undoable write, newest first; what cannot be undone, or whose undo fails, stands."""
        for entry in reversed(self._entries):
            if entry.state != DONE or entry.undo is None:
                continue
            method, path, body = entry.undo
            # Only a delete meeting 404 finds its work done; a put or post back that meets 404 restored nothing.
            expected = (200, 201, 204, 404) if method == 'DELETE' else (200, 201, 204)
            try:
                self.api.request(method, path, body=body, expected=expected)
            except KeycloakOpsError:
                entry.final = entry.final or 'undoing it failed; fix by hand'
                continue
            entry.state = UNDONE
        return self.stands()


def _once(labels):
    seen = []
    for label in labels:
        if label not in seen:
            seen.append(label)
    return seen
