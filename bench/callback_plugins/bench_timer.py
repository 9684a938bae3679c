# -*- coding: utf-8 -*-
# Copyright: keycloak_ops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (not part of the collection): wall-clock marks of a playbook run, written as JSON.

Enabled only by bench/provision_bench.py (ANSIBLE_CALLBACK_PLUGINS + ANSIBLE_CALLBACKS_ENABLED=bench_timer),
which sets BENCH_TIMER_FILE. Marks are time.time() values, so the driver can tell process start-up
(launch -> playbook start), task time and the rest apart.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: wall-clock marks of a playbook run for bench/provision_bench.py
description: Writes playbook start, task start/end and item counts to the file named by BENCH_TIMER_FILE.
requirements: [enabled in configuration]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._marks = {'loaded': time.time(), 'tasks': []}
        self._path = os.environ.get('BENCH_TIMER_FILE')

    def v2_playbook_on_start(self, playbook):
        self._marks['playbook_start'] = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._marks['tasks'].append({'name': task.get_name(), 'start': time.time(), 'end': None, 'items': 0})

    def _task_done(self, result, *_args, **_kwargs):  # on_failed also gets ignore_errors
        if self._marks['tasks']:
            self._marks['tasks'][-1]['end'] = time.time()

    def _item_done(self, result, *_args, **_kwargs):
        if self._marks['tasks']:
            self._marks['tasks'][-1]['items'] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _task_done
    v2_runner_item_on_ok = v2_runner_item_on_failed = v2_runner_item_on_skipped = _item_done

    def v2_playbook_on_stats(self, stats):
        self._marks['stats'] = time.time()
        if self._path:
            with open(self._path, 'w') as f:
                json.dump(self._marks, f)
