"""factory_boy factories for the domain, and users per role."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from plans import models as m
from recovery.models import Authority, User
from recovery.roles import ensure_groups


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authority
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Test Borough {n}")
    slug = factory.Sequence(lambda n: f"test-borough-{n}")
    child_population = 40000


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    authority = factory.SubFactory(AuthorityFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            ensure_groups()
            self.groups.set([Group.objects.get(name=extracted)])
            self.save()


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Plan

    authority = factory.SubFactory(AuthorityFactory)
    code = factory.Sequence(lambda n: f"plan-{n}")
    kind = m.Plan.Kind.MTFS
    title = factory.Sequence(lambda n: f"Recovery plan {n}")
    first_year = "2017/18"
    last_year = "2020/21"
    status = m.Plan.Status.ACTIVE


class WorkstreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Workstream

    plan = factory.SubFactory(PlanFactory)
    code = factory.Sequence(lambda n: f"ws-{n}")
    name = factory.Sequence(lambda n: f"Workstream {n}")


class SavingsLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.SavingsLine

    plan = factory.SubFactory(PlanFactory)
    reference = factory.Sequence(lambda n: f"SAV-{n:03d}")
    title = factory.Sequence(lambda n: f"Savings line {n}")
    category = m.SavingsLine.Category.PLACEMENTS
    status = m.SavingsLine.Status.APPROVED
    rag = "green"


class PlannedAmountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PlannedAmount

    line = factory.SubFactory(SavingsLineFactory)
    year = "2017/18"
    kind = m.PlannedAmount.Kind.POINT
    low = Decimal("100000.00")
    high = factory.SelfAttribute("low")


class ProgressEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ProgressEntry

    line = factory.SubFactory(SavingsLineFactory)
    as_at = date(2017, 10, 31)
    achieved_to_date = Decimal("25000.00")
    forecast = Decimal("100000.00")
    rag = "green"


class OverspendForecastFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.OverspendForecast

    plan = factory.SubFactory(PlanFactory)
    year = "2017/18"
    period = 1
    budget = Decimal("28900000.00")
    forecast_outturn = Decimal("30200000.00")


class KPIFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.KPI

    plan = factory.SubFactory(PlanFactory)
    code = factory.Sequence(lambda n: f"kpi-{n}")
    name = factory.Sequence(lambda n: f"KPI {n}")
    direction = m.KPI.Direction.LOWER


class KpiPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.KpiPoint

    kpi = factory.SubFactory(KPIFactory)
    kind = m.KpiPoint.Kind.ACTUAL
    value = Decimal("100")


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Risk

    plan = factory.SubFactory(PlanFactory)
    reference = factory.Sequence(lambda n: f"R{n}")
    description = "Placements slip"


class FundingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Funding

    plan = factory.SubFactory(PlanFactory)
    title = factory.Sequence(lambda n: f"Funding {n}")
    kind = m.Funding.Kind.RESERVE_DRAW
    year = "2017/18"
    amount = Decimal("1000000.00")


class CostPressureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CostPressure

    plan = factory.SubFactory(PlanFactory)
    title = "Placement slippage"
    year = "2017/18"
    period = factory.Sequence(lambda n: n % 12 + 1)
    amount = Decimal("10000.00")


def note_the_month(plan, year: str, period: int) -> None:
    """Something saved for the month (a line's comment, no figure), as a month has when
    finance submits it (``services.submit_month`` refuses an empty one)."""
    from recovery import fiscal

    line = plan.lines.order_by("reference").first()
    m.ProgressEntry.objects.create(
        line=line, as_at=fiscal.period_end(year, period), commentary="Checked; no change."
    )


def publish_as_stored(plan, year, period):
    """The month's report stored as publishing stores it (its files stand in)."""
    from dashboards import publishing
    from plans import figures as fg

    f = fg.plan_figures(plan, fg.Selection(year, period))
    changes, heading = publishing.report_changes(f)
    return m.PublishedReport.objects.create(
        plan=plan,
        year=year,
        period=period,
        published_at="2017-12-05T10:00:00Z",
        figures=publishing.snapshot(f, changes, heading),
        pdf=b"%PDF",
        xlsx=b"PK",
    )
