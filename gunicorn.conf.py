# gunicorn reads ./gunicorn.conf.py by default: the same log settings as bin/serve-web.
from lottery_site.gunicorn_conf import (  # noqa: F401
    access_log_format,
    child_exit,
    limit_request_line,
    logger_class,
    on_starting,
    worker_exit,
)
