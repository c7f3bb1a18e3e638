"""What every module of the package shares: the zero amount, the months of a year, the
database field sums are computed in, and plan ids from plans or ids.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField

ZERO = Decimal("0.00")
MONTHS = range(1, 13)
SUM_FIELD = DecimalField(max_digits=20, decimal_places=2)


def _ids(plans) -> list[int]:
    return [p if isinstance(p, int) else p.pk for p in plans]
