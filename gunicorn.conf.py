# gunicorn reads ./gunicorn.conf.py by default: the same log settings as bin/serve-web.
from lottery_site.gunicorn_conf import access_log_format, logger_class  # noqa: F401
