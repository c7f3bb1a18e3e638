"""Two officers' transactions racing on PostgreSQL: one wins, the other is told, nothing lost."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from plans import services
from plans.models import SavingsLine
from tests.factories import SavingsLineFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_transactions_cannot_overwrite_each_other(plan):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    line = SavingsLineFactory(plan=plan, title="Original")
    seen_version = line.version
    both_read = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def officer(name: str):
        try:
            with transaction.atomic():
                mine = SavingsLine.objects.get(pk=line.pk)
                both_read.wait()  # both have the same version open
                mine.title = f"Edited by {name}"
                services.update_record(
                    instance=mine, user=None, expected_version=seen_version, reason=name
                )
                time.sleep(0.3)  # hold the row lock while the other tries
            outcomes[name] = "saved"
        except services.StaleEdit:
            outcomes[name] = "refused"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=officer, args=(n,)) for n in ("anna", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(outcomes.values()) == ["refused", "saved"], outcomes
    winner = next(n for n, o in outcomes.items() if o == "saved")
    line.refresh_from_db()
    assert line.title == f"Edited by {winner}"
    assert line.version == seen_version + 1


def test_two_month_end_saves_racing_for_the_same_month(plan):
    """Both open October with no entries yet and save at once: one month-end is saved whole,
    the other is refused whole, as a conflict naming the winner's entry (never as a mistake
    in the loser's figures); no line ends up with half of each."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    from datetime import date
    from decimal import Decimal

    from django.core.exceptions import ValidationError

    from plans import month_end
    from plans.models import ProgressEntry

    lines = [SavingsLineFactory(plan=plan) for _ in range(3)]
    both_ready = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}
    conflicts: dict[str, object] = {}

    def officer(name: str, achieved: str):
        rows = [
            month_end.LineInput(
                line_id=line.pk,
                version=None,
                achieved_to_date=Decimal(achieved),
                forecast=None,
                rag="",
                commentary=name,
            )
            for line in lines
        ]
        try:
            both_ready.wait()
            month_end.save(
                plan=plan, year="2017/18", period=7, user=None, lines=rows, forecast=None, kpis=[]
            )
            outcomes[name] = "saved"
        except services.StaleEdit as stale:
            outcomes[name] = "refused"
            conflicts[name] = stale.current
        except ValidationError as error:
            outcomes[name] = f"told to correct their figures: {error}"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=officer, args=args) for args in (("anna", "1000"), ("ben", "2000"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["refused", "saved"], outcomes
    entries = ProgressEntry.objects.filter(line__plan=plan, as_at=date(2017, 10, 31))
    assert entries.count() == 3
    assert len({(e.commentary, e.achieved_to_date) for e in entries}) == 1  # one officer's
    winner = next(n for n, o in outcomes.items() if o == "saved")
    (theirs,) = conflicts.values()
    assert isinstance(theirs, ProgressEntry) and theirs.commentary == winner
