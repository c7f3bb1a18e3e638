"""Log filters."""

import logging


class RefusalsInOneLine(logging.Filter):
    """A 403 (a role or authority refused) is expected traffic: log it in one line, without
    the traceback Django attaches."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
