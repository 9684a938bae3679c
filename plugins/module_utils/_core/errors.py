# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""The failures a person reads: every error the collection raises on purpose says, in one line, what is wrong
and what to do, so a module fails with its text and no traceback (KeycloakModule.failing)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class OneLineError(Exception):
    """A failure already phrased as the one line a person reads."""


class InvalidInput(OneLineError, ValueError):
    """The input is wrong, found before any request; the message names the option and the fix."""


class KeycloakOpsError(OneLineError):
    """A failure of a request to Keycloak, or of the options that lead to one."""


class Unavailable(KeycloakOpsError):
    """Keycloak could not be reached or did not answer for itself (502/503/504): not a refusal of the request."""


class OutcomeUnknown(Unavailable):
    """A write was sent and its answer lost: Keycloak may or may not have done it, and it is not sent again."""
