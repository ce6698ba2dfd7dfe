"""Plumbing shared by the bench scripts, one module per idea; nothing here starts anything
by itself.

* ``benchkit.run``: a script's life: ``main`` wrapped so Ctrl-C and SIGTERM end it through
  the ``finally`` blocks, the temporary folder, the options every script shares
  (``--database``, ``--postgres-url``, ``--json``), one run per backend, the JSON file;
* ``benchkit.apps``: throwaway databases and the app on them (environment, migration);
* ``benchkit.client``: the app through Flask's test client (checked answers, accounts);
* ``benchkit.machine``: CPU and memory accounting from /proc, the load average;
* ``benchkit.children``: child processes in their own session, talking JSON lines;
* ``benchkit.sinks``: the small asyncio HTTP servers the dispatch bench sends to;
* ``benchkit.timing``: timing loops and variants taking turns;
* ``benchkit.report``: ``fmt``, ``print_table``, ``spread``, ``percentile``, latency summaries
  and the lines every report starts with.

Importing it puts the project's root on ``sys.path`` (so ``api``, ``reminders``,
``resources`` and ``tests`` import from a script in bench/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench"
DEFAULT_POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
