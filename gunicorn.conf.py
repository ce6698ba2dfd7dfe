"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be overridden by the environment (GUNICORN_* below, or gunicorn's own
GUNICORN_CMD_ARGS). The reminder dispatcher never runs here: it is its own process,
``flask reminders run``.
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# gunicorn's own workers, except that what gunicorn itself refuses (limits below, bytes that
# are not HTTP) is answered as problem+json like every other error, not as an HTML page.
worker_class = (
    "api.core.gunicorn_workers.ProblemThreadWorker"
    if threads > 1
    else "api.core.gunicorn_workers.ProblemSyncWorker"
)
# gunicorn's defaults, stated: a search's query (at most 200 characters, even
# percent-encoded) fits the request line many times over; beyond these, 414 and 431.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Load the app before forking: a broken configuration fails at start, not per worker.
preload_app = True
# Our own JSON access lines (route templates, no raw paths) replace gunicorn's.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's control socket defaults to one path per user; several servers would collide.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET") is None
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus metrics from every worker, summed at /metrics.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="homeward-metrics-")


def on_starting(server):
    # Only here are both known: the worker count (after command-line overrides) and the
    # app's settings (preloaded). gunicorn turns RuntimeError into "Error: ..." and exit 1.
    from api.core.config import shared_limits_problem

    app = getattr(server.app, "callable", None)
    settings = app.config if app is not None else os.environ
    problem = shared_limits_problem(settings, server.cfg.workers)
    if problem:
        raise RuntimeError(problem)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    # Connections opened before the fork must not be shared between workers.
    app = getattr(server.app, "callable", None)
    if app is not None and "homeward.db" in getattr(app, "extensions", {}):
        app.extensions["homeward.db"].engine.dispose(close=False)
