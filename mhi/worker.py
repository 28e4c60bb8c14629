"""The job queue's workers: ``huey_consumer mhi.worker.huey`` (README, "Background jobs").

The consumer imports this module, which builds the application from the environment (``MHI_DATABASE_URL``,
``MHI_QUEUE_URL``, ``MHI_STORAGE_DIR``, ``instance/config.py``: the same settings as the web workers) and hands
over its queue, with every feature's job kinds registered.
"""

from __future__ import annotations

from mhi import create_app
from mhi.core.jobs import queue

app = create_app()
huey = queue(app).huey
