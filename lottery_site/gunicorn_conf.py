"""gunicorn's settings for its own log lines: our format (LOG_FORMAT), UTC, the redaction net.

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
