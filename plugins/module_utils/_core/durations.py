# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Internal to keycloak_ops.clients: no stability promise. Modules and plugins of other collections
# must not import it; its names and signatures change whenever the collection needs them to.
"""Durations as people write them (3600, '90d', '1h30m') and times as modules return them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.errors import InvalidInput

UNITS = (('w', 604800), ('d', 86400), ('h', 3600), ('m', 60), ('s', 1))
# Keycloak keeps durations (token expirations, rotation periods) as 32-bit integers of seconds and refuses
# (HTTP 400) or fails (HTTP 500) on more: about 68 years.
MAX_SECONDS = 2 ** 31 - 1
DURATION = re.compile('^' + ''.join(r'(?:(\d+)%s)?' % unit for unit, _seconds in UNITS) + '$')


class InvalidDuration(InvalidInput):
    """A duration option is wrong; the message names the option."""


def parse_duration(option, value, allow_zero=False):
    """Seconds from an int or a string such as 3600, '90d', '12h' or '1h30m'; zero only when allow_zero."""
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower()
        match = DURATION.match(text)
        if text.isdigit():
            seconds = int(text)
        elif text and match:
            seconds = sum(int(count) * factor for count, (_unit, factor) in zip(match.groups(), UNITS) if count)
    if seconds is None or seconds < 0 or (seconds == 0 and not allow_zero):
        raise InvalidDuration("%s: expected a %s number of seconds or a duration such as 90d, 12h or 1h30m "
                              "(units w, d, h, m, s), got %r" % (option, 'non-negative' if allow_zero else 'positive', value))
    if seconds > MAX_SECONDS:
        raise InvalidDuration("%s: %r is %d seconds, more than Keycloak's limit of %d (about 68 years)"
                              % (option, value, seconds, MAX_SECONDS))
    return seconds


def format_duration(seconds):
    """'1d2h' for 93600: durations in messages read like the options that set them."""
    if seconds is None:
        return 'unknown'
    parts = []
    for unit, factor in UNITS[1:]:  # 90d reads better as 90d than as 12w6d
        count, seconds = divmod(seconds, factor)
        if count:
            parts.append('%d%s' % (count, unit))
    return ''.join(parts) or '0s'


def iso_time(epoch):
    """UTC ISO 8601 of epoch seconds, or None."""
    return None if epoch is None else time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))
