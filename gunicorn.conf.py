"""gunicorn hooks, read by `gunicorn lottery_site.wsgi` run from this directory (gunicorn loads
./gunicorn.conf.py by default) and passed explicitly by bin/serve-web. Settings stay on the
command line; only what needs code lives here."""


def on_starting(server):
    # Before the workers fork: importing the metrics wipes their files if no other process of
    # this machine uses them, and holds the directory while this master runs
    # (lottery_site/metrics.py, claim_directory).
    from lottery_site import metrics

    metrics.claim_directory()


def child_exit(server, worker):
    # A worker exited (restart, crash, scale down): its live gauges must not linger.
    from lottery_site import metrics

    metrics.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # In the exiting worker: write its last second of HTTP counts (lottery_site/metrics.py).
    from lottery_site import metrics

    metrics.HTTP_TALLY.flush()
