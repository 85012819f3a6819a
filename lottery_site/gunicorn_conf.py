"""gunicorn settings: its own log lines in our format (LOG_FORMAT), UTC; the metrics hooks.

``bin/serve-web`` passes ``--config python:lottery_site.gunicorn_conf``; ``gunicorn.conf.py`` at
the repository root imports this, so a bare ``gunicorn lottery_site.wsgi`` run from there gets it
too. gunicorn's lines (boot, worker timeouts and exits) otherwise carry the machine's local time
in a format of their own.
"""

import os

from gunicorn import glogging

from lottery_site.logs import formatter
from lottery_site.request_id import LogContextFilter

# gunicorn's own access log is off unless asked for (--access-logfile): the application writes
# one access line per request (logger lottery.access). When on, its line leaves the time to our
# formatter (gunicorn's %(t)s is local time).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'

# The longest request line gunicorn reads (its default, 4094, answered longer URLs with an HTML
# 414 of its own): 8190, its maximum, as much as nginx's default buffer for the line (8k,
# large_client_header_buffers). The app refuses URLs over API_MAX_URL_BYTES (4096) itself, in
# the envelope (lottery_site/middleware.py), so a URL nginx lets through reaches the app.
limit_request_line = 8190


class Logger(glogging.Logger):
    """gunicorn's logger, with our formatter on the handlers it installs."""

    def setup(self, cfg):
        super().setup(cfg)
        log_format = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(log_format))
                handler.addFilter(LogContextFilter())


logger_class = Logger


# Metrics in prometheus_client's multiprocess mode (lottery_site/metrics.py). Imported inside the
# hooks: the metrics directory must be chosen (settings) before prometheus_client is imported.
def on_starting(server):
    # Before the workers fork: wipe the files no other process of this machine uses, and hold
    # the directory while this master runs (metrics.claim_directory).
    from lottery_site import metrics

    metrics.claim_directory()


def child_exit(server, worker):
    # A worker exited (restart, crash, scale down): its live gauges must not linger.
    from lottery_site import metrics

    metrics.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # In the exiting worker: write its last second of HTTP counts.
    from lottery_site import metrics

    metrics.HTTP_TALLY.flush()
