"""A logging filter that masks token-like query parameters in library logs.

urllib3 logs every request line (``"GET /path?access_token=... HTTP/1.1"``) at
DEBUG level; this filter redacts such lines before any handler sees them.
"""

import logging
import re

from .redact import redact_url

_URLISH = re.compile(r"(/[^\s\"']*\?[^\s\"']+)")


class RedactingFilter(logging.Filter):
    def filter(self, record):
        if record.args:
            record.args = tuple(
                _URLISH.sub(lambda m: redact_url("http://x" + m.group(1))[len("http://x"):], a)
                if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        return True


def install(logger_names=("urllib3.connectionpool",)):
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
