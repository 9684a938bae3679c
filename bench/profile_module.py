"""Profile one run of a keycloak_ops.clients module in-process with pyinstrument (benchmark helper).

    PYTHONPATH=<collections root> python bench/profile_module.py MODULE ARGS_JSON OUT_PREFIX [PYINSTRUMENT_DIR]

ARGS_JSON holds {"ANSIBLE_MODULE_ARGS": {...}} as Ansible passes it. Writes OUT_PREFIX.txt (call tree),
OUT_PREFIX.html and OUT_PREFIX.result.json (the module's own output); exits with the module's code.
Run by bench/provision_bench.py --profile; the module's output is kept out of the terminal.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys


def main() -> int:
    module, args_path, out = sys.argv[1:4]
    if len(sys.argv) > 4:
        sys.path.append(sys.argv[4])  # last: never shadows the venv's own packages
    from pyinstrument import Profiler  # pylint: disable=import-outside-toplevel

    sys.argv = [module, args_path]  # AnsibleModule reads its arguments from the file named by argv[1]
    captured = io.StringIO()
    code = 0
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        with contextlib.redirect_stdout(captured):
            runpy.run_module('ansible_collections.keycloak_ops.clients.plugins.modules.' + module, run_name='__main__')
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        profiler.stop()
    with open(out + '.result.json', 'w') as f:
        f.write(captured.getvalue())
    with open(out + '.txt', 'w') as f:
        f.write(profiler.output_text(unicode=True, color=False, show_all=False))
    with open(out + '.html', 'w') as f:
        f.write(profiler.output_html())
    return code


if __name__ == '__main__':
    sys.exit(main())
