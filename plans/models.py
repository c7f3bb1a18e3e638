"""The recovery-plan domain (DESIGN.md, "Domain").

Money is ``MoneyField`` (a ``DecimalField(max_digits=14, decimal_places=2)``), the one money
type. Rules that must never be broken are database constraints as well as form validation.
Every editable model keeps its history (django-simple-history) and a ``version`` counter
that services use to refuse lost updates.
Natural keys make the seed fixtures loadable twice without duplicating anything.
"""

from __future__ import annotations

import contextvars
import functools
import re
import uuid
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from plans.rules import WHOLE_NUMBER_LIMIT
from recovery import fiscal
from recovery.models import Authority
from recovery.spreadsheet import fits_a_cell

MONEY = {"max_digits": 14, "decimal_places": 2}

# Set while ``services.delete_record`` deletes a record and what goes with it: it writes their
# deletions into the history itself, one statement per table.
BULK_DELETING = contextvars.ContextVar("plans_bulk_deleting", default=False)


class Text(models.TextField):
    """Text an officer types: at most what a spreadsheet cell holds as a download writes it
    (``recovery.spreadsheet.cell_problem``), so every record exports whole and imports back
    unchanged; the form, the month-end page, the admin and the import all refuse longer."""

    default_validators = [fits_a_cell]

    def deconstruct(self):
        # A TextField to the migrations: the limit is a validator, not a column change (else
        # SQLite would rebuild every table holding text for nothing).
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


class History(HistoricalRecords):
    """django-simple-history's records of a model, but a deletion under ``BULK_DELETING`` is
    not written record by record (a 2,000-line plan's 110,000 records took a minute so).
    ``History.models``: the models so kept, whose deletions the bulk path writes itself."""

    models: set[type] = set()

    def contribute_to_class(self, cls, name):
        super().contribute_to_class(cls, name)
        History.models.add(cls)

    def pre_delete(self, instance, **kwargs):
        if not BULK_DELETING.get():
            super().pre_delete(instance, **kwargs)

    def post_delete(self, instance, using=None, **kwargs):
        if not BULK_DELETING.get():
            super().post_delete(instance, using=using, **kwargs)


class MoneyField(models.DecimalField):
    """Pounds and pence. The one money type: forms, the history's "reason for a money change",
    record pages and the workbook all ask ``isinstance(field, MoneyField)``; counts, factors,
    rates and KPI values are plain decimals."""

    def __init__(self, *args, signed: bool = False, **kwargs):
        # Signed: the figure may be negative (an underspend, a relief); a database-free
        # attribute that forms and the workbook read, so not part of migrations.
        self.signed = signed
        kwargs.setdefault("max_digits", MONEY["max_digits"])
        kwargs.setdefault("decimal_places", MONEY["decimal_places"])
        super().__init__(*args, **kwargs)


def is_money(field) -> bool:
    return isinstance(field, MoneyField)


YEAR_Q = Q(year__regex=fiscal.YEAR_PATTERN)
YEAR_MESSAGE = "The year must be a financial year written like 2017/18."
PERIOD_MESSAGE = "The period must be between 1 (April) and 12 (March)."


def year_written(name: str, *, blank: bool = False) -> models.CheckConstraint:
    """The record's ``year`` is a financial year written like 2017/18 (or, ``blank``, none)."""
    return models.CheckConstraint(
        condition=(Q(year="") | YEAR_Q) if blank else YEAR_Q,
        name=name,
        violation_error_message=YEAR_MESSAGE,
    )


def period_1_12(name: str) -> models.CheckConstraint:
    """The record's ``period`` is a month of the financial year, 1 (April) to 12 (March)."""
    return models.CheckConstraint(
        condition=Q(period__gte=1, period__lte=12),
        name=name,
        violation_error_message=PERIOD_MESSAGE,
    )


def year_field(**kwargs):
    return models.CharField(
        max_length=7,
        validators=[fiscal.validate_year],
        help_text="Financial year, written like 2017/18.",
        **kwargs,
    )


def period_field(**kwargs):
    return models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="P1 = April ... P12 = March.",
        **kwargs,
    )


class RAG(models.TextChoices):
    """Delivery confidence; the one place its words are written (pages, downloads, charts)."""

    BLUE = "blue", "Blue – delivered"
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


class Versioned(models.Model):
    """Optimistic locking: services compare and bump ``version`` on every save."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


@functools.cache
def plan_link(model: type[models.Model]) -> tuple[str, type[models.Model] | None]:
    """How a record of ``model`` belongs to its plan, read from its fields: ``("pk", None)``
    for a plan, ``("plan_id", None)`` for a record with a plan of its own, or the record it
    hangs from: ``("line_id", SavingsLine)``, ``("kpi_id", KPI)``, ``("type_id",
    PlacementType)``. Cache invalidation, the month lock and the audit trail all use it."""
    if model is Plan:
        return "pk", None
    relations = [f for f in model._meta.concrete_fields if f.is_relation]
    for f in relations:
        if f.related_model is Plan:
            return f.attname, None
    for f in relations:
        if any(g.related_model is Plan for g in f.related_model._meta.concrete_fields):
            return f.attname, f.related_model
    raise LookupError(f"{model.__name__} does not belong to a plan")


def plan_path(model: type[models.Model]) -> str:
    """The lookup from a record of ``model`` to its plan: ``plan``, or ``line__plan`` (and
    the like) for one that hangs from a line, KPI or placement type."""
    attname, parent = plan_link(model)
    return "plan" if parent is None else f"{attname.removesuffix('_id')}__plan"


def plans_of(records) -> Q:
    """A filter on plans that finds the plans ``records`` belong to (a subquery for records
    that hang from a line, KPI or placement type), without loading them. Empty (false) for
    no records."""
    found = defaultdict(set)  # parent model (None: the plan) -> ids
    for record in records:
        attname, parent = plan_link(type(record))
        found[parent].add(getattr(record, attname))
    which = Q()
    for parent, ids in found.items():
        ids.discard(None)
        if ids and parent is None:
            which |= Q(pk__in=ids)
        elif ids:
            which |= Q(pk__in=parent.objects.filter(pk__in=ids).values("plan_id"))
    return which


# --------------------------------------------------------------------------------------------
# Plan


class PlanManager(models.Manager):
    def get_by_natural_key(self, authority_slug, code):
        return self.get(authority__slug=authority_slug, code=code)


class Plan(Versioned):
    class Kind(models.TextChoices):
        RECOVERY = "recovery", "In-year recovery plan"
        COST_IMPROVEMENT = "cost_improvement", "Cost improvement plan"
        MTFS = "mtfs", "Medium-term financial strategy"
        BUDGET_UPDATE = "budget_update", "Budget update"
        FIVE_YEAR = "five_year", "Five-year plan"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"
        SUPERSEDED = "superseded", "Superseded"

    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(
        max_length=60, help_text="Short unique name within the authority, e.g. mtfs-2017-21."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    directorate = models.CharField(max_length=200, blank=True)
    first_year = year_field()
    last_year = year_field()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    approved_on = models.DateField(null=True, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    published_on = models.DateField(
        null=True, blank=True, help_text="Date of the paper or of this revision."
    )
    revises = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="revisions",
        help_text="The earlier plan this one revises or replaces.",
    )
    source_document = models.CharField(
        max_length=200, blank=True, help_text="The paper this plan was taken from."
    )

    class AmountBasis(models.TextChoices):
        ANNUAL = "annual", "Full-year values (a line starting in month m yields (13 - m)/12)"
        IN_YEAR = "in_year", "In-year values (due in full by March, from the start month)"

    amount_basis = models.CharField(
        "planned amounts are",
        max_length=7,
        choices=AmountBasis.choices,
        default=AmountBasis.ANNUAL,
        help_text="Whether each year's planned saving is a full-year value or what the year "
        "itself should yield (an in-year recovery target).",
    )
    savings_start = models.DateField(
        "savings expected from",
        null=True,
        blank=True,
        help_text="Where the paper says when savings start (e.g. February 2012): nothing is "
        "expected before this month, for lines without a start month of their own.",
    )
    savings_start_assumed = models.BooleanField(
        "savings start assumed",
        default=False,
        help_text="The paper gives no month: the start was taken from what it says (an autumn "
        "review: October). Pages say the profile rests on an assumption.",
    )
    summary = Text(blank=True)
    notes = Text(blank=True)
    # A fresh random token whenever any of the plan's records changes (plans.services sets it
    # in the writing transaction): cached figures are keyed by it, so a change is seen at
    # once. Random rather than a counter: saving a plan read before another change would set
    # a counter back to a value already used as a cache key. Not history, not for editing.
    data_version = models.UUIDField(default=uuid.uuid4, editable=False)
    history = History(excluded_fields=["data_version"])

    objects = PlanManager()

    class Meta:
        ordering = ["authority__name", "first_year", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "code"],
                name="plan_code_unique_per_authority",
                violation_error_message="This authority already has a plan with that code.",
            ),
            models.CheckConstraint(
                condition=Q(first_year__regex=fiscal.YEAR_PATTERN)
                & Q(last_year__regex=fiscal.YEAR_PATTERN),
                name="plan_years_written_like_2017_18",
                violation_error_message="The first and last years must be financial years "
                "written like 2017/18.",
            ),
            models.CheckConstraint(
                condition=Q(first_year__lte=F("last_year")),
                name="plan_first_year_not_after_last",
                violation_error_message="The first year must not be after the last year.",
            ),
        ]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.authority.slug, self.code)

    natural_key.dependencies = ["recovery.authority"]

    @property
    def years(self) -> list[str]:
        return fiscal.years_between(self.first_year, self.last_year)

    # A plan's years: more than this many is a typing slip (2017/18 to 2099/00).
    MAX_YEARS = 20

    def span_problem(self) -> str:
        """What is wrong with the plan's years ("" if nothing): the one rule for the plan's
        forms and its workbook."""
        first, last = self.first_year, self.last_year
        if not all(re.fullmatch(fiscal.YEAR_PATTERN, y or "") for y in (first, last)):
            return ""  # each year's own check says so
        if first > last:
            return f"The last year {last} is before the first year {first}."
        if fiscal.year_start_int(last) - fiscal.year_start_int(first) > self.MAX_YEARS:
            return (
                f"{first} to {last} is more than {self.MAX_YEARS} years; is one of them a "
                "typing slip?"
            )
        return ""

    def stranded_problem(self, first: str, last: str) -> tuple[str, str] | None:
        """``(field, message)`` if this saved plan holds records that must fall within its
        years (the models with ``STRICT_YEARS``: planned amounts, progress, year adjustments,
        planned moves; each by its financial year) in a year outside ``first`` to ``last``,
        else None: the one rule for the plan's forms, the admin's and its workbook import."""
        if self.pk is None:
            return None
        years = fiscal.years_between(first, last) if first <= last else []
        found: dict[str, set[str]] = {}
        for what, records, field in (
            ("planned savings", PlannedAmount.objects.filter(line__plan=self), "year"),
            ("progress", ProgressEntry.objects.filter(line__plan=self), "year"),
            ("year adjustments", YearAdjustment.objects.filter(plan=self), "year"),
            ("planned placement moves", PlacementMove.objects.filter(plan=self), "planned_year"),
        ):
            outside = records.exclude(**{f"{field}__in": years}).values_list(field, flat=True)
            if stranded := set(outside.distinct().order_by()):
                found[what] = stranded
        if not found:
            return None
        every = sorted(set().union(*found.values()))
        kinds = list(found)
        said = ", ".join(kinds[:-1]) + " and " + kinds[-1] if len(kinds) > 1 else kinds[0]
        return (
            "first_year" if every[0] < first else "last_year",
            f"The plan has {said} recorded in {', '.join(every)}; move or delete them before "
            "changing the plan's years.",
        )

    def clean(self):
        if problem := self.span_problem():
            raise ValidationError({"last_year": problem})
        if self.revises_id and self.revises_id == self.pk:
            raise ValidationError({"revises": "A plan cannot revise itself."})
        if self.revises_id and self.authority_id and self.revises.authority_id != self.authority_id:
            raise ValidationError({"revises": "A plan can only revise a plan of its authority."})


class PlanChildManager(models.Manager):
    """Children of a plan are found by the plan's natural key plus their model's
    ``KEY_FIELD``."""

    def get_by_natural_key(self, authority_slug, plan_code, key):
        return self.get(
            plan__authority__slug=authority_slug,
            plan__code=plan_code,
            **{self.model.KEY_FIELD: key},
        )


class PlanChild(Versioned):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE)

    class Meta:
        abstract = True

    KEY_FIELD = "code"

    def natural_key(self):
        return (*self.plan.natural_key(), getattr(self, self.KEY_FIELD))

    natural_key.dependencies = ["plans.plan"]


class NarrativeSection(PlanChild):
    """A section of the plan's narrative: background, why previous plans failed..."""

    KEY_FIELD = "order"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveSmallIntegerField()
    heading = models.CharField(max_length=300)
    body = Text()
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "order"],
                name="section_order_unique",
                violation_error_message="This plan already has a section at that position.",
            )
        ]

    def __str__(self):
        return self.heading


class Workstream(PlanChild):
    """A theme or objective grouping savings lines."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="workstreams")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=300)
    description = Text(blank=True)
    lead = models.CharField(max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="workstream_code_unique",
                violation_error_message="This plan already has a workstream with that code.",
            )
        ]

    def __str__(self):
        return self.name


# --------------------------------------------------------------------------------------------
# Savings


class SavingsLine(PlanChild):
    class Category(models.TextChoices):
        STAFFING = "staffing", "Staffing"
        PLACEMENTS = "placements", "Placements"
        COMMISSIONING = "commissioning", "Commissioning"
        INCOME = "income", "Income"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        IN_DELIVERY = "in_delivery", "In delivery"
        DELIVERED = "delivered", "Delivered"
        SLIPPED = "slipped", "Slipped"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Recurrence(models.TextChoices):
        RECURRING = "recurring", "Recurring"
        ONE_OFF = "one_off", "One-off"

    KEY_FIELD = "reference"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="lines")
    workstream = models.ForeignKey(
        Workstream, on_delete=models.SET_NULL, null=True, blank=True, related_name="lines"
    )
    reference = models.CharField(max_length=40, help_text="e.g. CHS/SAV/34")
    title = models.CharField(max_length=300)
    description = Text(blank=True)
    actions = Text(blank=True)
    owner = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    rag = models.CharField(
        "current RAG",
        max_length=5,
        choices=RAG.choices,
        blank=True,
        help_text="Delivery confidence now.",
    )
    original_rag = models.CharField(
        "original RAG",
        max_length=5,
        choices=RAG.choices,
        blank=True,
        help_text="Delivery confidence at budget setting.",
    )
    in_revenue_budget = models.BooleanField(
        default=False, help_text="Included in the base revenue budget (* in the papers)."
    )
    recurrence = models.CharField(
        max_length=10, choices=Recurrence.choices, default=Recurrence.RECURRING
    )
    start_period = period_field(null=True, blank=True, verbose_name="start month (period)")
    counts_towards_target = models.BooleanField(
        default=True,
        help_text="Counted in the plan's planned and achieved totals. Off for savings the "
        "paper reports separately from its target.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    notes = Text(blank=True, help_text="Discrepancies between papers and other notes.")
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "order", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "reference"],
                name="line_reference_unique_per_plan",
                violation_error_message="This plan already has a savings line with that reference.",
            ),
            models.CheckConstraint(
                condition=Q(start_period__isnull=True)
                | Q(start_period__gte=1, start_period__lte=12),
                name="line_start_period_1_12",
                violation_error_message="The start period must be between 1 and 12.",
            ),
        ]
        indexes = [
            # A plan's lines in their order: the lines list, and (with each line's entries
            # by their own index) the first page of the progress list of a long plan, read
            # without sorting every entry.
            models.Index(fields=["plan", "order", "reference"], name="line_plan_order"),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    def clean(self):
        if self.workstream_id and self.plan_id and self.workstream.plan_id != self.plan_id:
            raise ValidationError({"workstream": "That workstream belongs to another plan."})


class LineChildManager(models.Manager):
    key_field = "year"

    def get_by_natural_key(self, authority_slug, plan_code, reference, key):
        return self.get(
            line__plan__authority__slug=authority_slug,
            line__plan__code=plan_code,
            line__reference=reference,
            **{self.key_field: key},
        )


class PlannedAmount(Versioned):
    """What a line is planned to save in one financial year: a point, a range, or TBC."""

    # Year or date fields that must fall within the plan's years (forms and workbook).
    STRICT_YEARS = ("year",)

    class Kind(models.TextChoices):
        POINT = "point", "Amount"
        RANGE = "range", "Range"
        TBC = "tbc", "To be confirmed"

    line = models.ForeignKey(SavingsLine, on_delete=models.CASCADE, related_name="amounts")
    year = year_field()
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.POINT)
    low = MoneyField(null=True, blank=True)
    high = MoneyField(null=True, blank=True)
    driver_volume = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Volume of the driver, e.g. 2 placements.",
    )
    driver_unit = models.CharField(max_length=100, blank=True, help_text="e.g. placements")
    driver_unit_value = MoneyField(
        null=True, blank=True, help_text="Value per unit, e.g. £126,705."
    )
    stated_text = models.CharField(
        max_length=100, blank=True, help_text="The figure as the paper printed it."
    )
    notes = Text(blank=True)
    history = History()

    objects = LineChildManager()

    class Meta:
        ordering = ["line", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "year"],
                name="one_planned_amount_per_line_and_year",
                violation_error_message="This line already has a planned amount for that year.",
            ),
            year_written("amount_year_written_like_2017_18"),
            models.CheckConstraint(
                condition=Q(low__lte=F("high")) | Q(kind="tbc"),
                name="amount_low_not_above_high",
                violation_error_message="The low figure must not be above the high figure.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="tbc") & Q(low__isnull=True) & Q(high__isnull=True))
                | (Q(kind="point") & Q(low__isnull=False) & Q(low=F("high")))
                | (Q(kind="range") & Q(low__isnull=False) & Q(high__isnull=False)),
                name="amount_shape_matches_kind",
                violation_error_message="A TBC amount has no figures; a point has one; a range "
                "has a low and a high.",
            ),
            models.CheckConstraint(
                condition=Q(low__isnull=True) | Q(low__gte=0),
                name="amount_not_negative",
                violation_error_message="A planned saving cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"{self.line.reference} {self.year}"

    def natural_key(self):
        return (*self.line.natural_key(), self.year)

    natural_key.dependencies = ["plans.savingsline"]

    @property
    def driver_total(self):
        if self.driver_volume is None or self.driver_unit_value is None:
            return None
        return (self.driver_volume * self.driver_unit_value).quantize(self.driver_unit_value)


class ProgressEntryManager(LineChildManager):
    key_field = "as_at"


class ProgressEntry(Versioned):
    """What had been delivered on a line at a date, and what is forecast for the year."""

    # Year or date fields that must fall within the plan's years (forms and workbook).
    STRICT_YEARS = ("as_at",)

    class Basis(models.TextChoices):
        ACHIEVED = "achieved", "Achieved"
        ACHIEVABLE = "achievable", "Achievable (not yet achieved)"

    line = models.ForeignKey(SavingsLine, on_delete=models.CASCADE, related_name="progress")
    as_at = models.DateField()
    year = year_field(editable=False)
    achieved_to_date = MoneyField(null=True, blank=True)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.ACHIEVED)
    forecast = MoneyField("forecast for the year", null=True, blank=True)
    rag = models.CharField("RAG", max_length=5, choices=RAG.choices, blank=True)
    commentary = Text(blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    entered_at = models.DateTimeField(auto_now=True)
    history = History()

    objects = ProgressEntryManager()

    class Meta:
        ordering = ["line", "as_at"]
        verbose_name_plural = "progress entries"
        constraints = [
            models.UniqueConstraint(
                fields=["line", "as_at"],
                name="one_progress_entry_per_line_and_date",
                violation_error_message="This line already has progress recorded at that date.",
            ),
            year_written("progress_year_written_like_2017_18"),
            models.CheckConstraint(
                condition=Q(achieved_to_date__isnull=True) | Q(achieved_to_date__gte=0),
                name="progress_achieved_not_negative",
                violation_error_message="Achieved to date cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"{self.line.reference} at {self.as_at:%d %b %Y}"

    # True only on the entries services.sync_lines_from_moves writes: the one writer of a
    # move-driven line's progress (see PlacementMove.drives).
    from_moves = False

    def save(self, *args, **kwargs):
        # The financial year is derived, never typed, so it cannot disagree with the date.
        self.year = fiscal.financial_year(self.as_at)
        super().save(*args, **kwargs)

    def full_clean(self, *args, **kwargs):
        if self.as_at:
            self.year = fiscal.financial_year(self.as_at)
        super().full_clean(*args, **kwargs)

    def natural_key(self):
        return (*self.line.natural_key(), self.as_at.isoformat())

    natural_key.dependencies = ["plans.savingsline"]


class YearAdjustment(PlanChild):
    """The share of a year's planned savings expected in-year (the MTFS takes 50% of 2017/18)."""

    # Year or date fields that must fall within the plan's years (forms and workbook).
    STRICT_YEARS = ("year",)

    KEY_FIELD = "year"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="adjustments")
    year = year_field()
    factor = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0.5 means half the year's planned savings are expected in-year.",
    )
    reason = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year"],
                name="one_adjustment_per_year",
                violation_error_message="This plan already has an adjustment for that year.",
            ),
            year_written("adjustment_year_written_like_2017_18"),
            models.CheckConstraint(
                condition=Q(factor__gte=0, factor__lte=1),
                name="adjustment_factor_0_1",
                # "%%": Django fills the message in with "%" formatting.
                violation_error_message="The factor must be a share from 0 to 1 (0%% to 100%%).",
            ),
        ]

    def __str__(self):
        return f"{self.year} × {self.factor}"


class StatedFigure(PlanChild):
    """A total as the paper prints it, kept so the app can set its own figure beside it."""

    class Measure(models.TextChoices):
        PLANNED = "planned", "Planned savings"
        ADJUSTED = "adjusted", "In-year adjusted savings"
        ACHIEVED = "achieved", "Achieved"
        ANTICIPATED = "anticipated", "Achieved or identified (anticipated)"
        GAP = "gap", "Gap"
        SLIPPAGE = "slippage", "Slippage cost"
        LINE_TOTAL = "line_total", "Line total across years"
        OTHER = "other", "Other"

    KEY_FIELD = "key"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="stated_figures")
    key = models.SlugField(max_length=80)
    measure = models.CharField(max_length=12, choices=Measure.choices)
    year = year_field(blank=True, default="")
    line = models.ForeignKey(
        SavingsLine, on_delete=models.CASCADE, null=True, blank=True, related_name="stated"
    )
    label = models.CharField(max_length=300)
    low = MoneyField(signed=True, null=True, blank=True)
    high = MoneyField(signed=True, null=True, blank=True)
    stated_text = models.CharField(max_length=100, help_text="As printed, e.g. 1.314m – 1.864m")
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "year", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "key"],
                name="stated_figure_key_unique",
                violation_error_message="This plan already has a stated figure with that key.",
            ),
            year_written("stated_year_written_like_2017_18", blank=True),
            models.CheckConstraint(
                condition=Q(low__isnull=True) | Q(high__isnull=True) | Q(low__lte=F("high")),
                name="stated_low_not_above_high",
                violation_error_message="The low figure must not be above the high figure.",
            ),
        ]

    def __str__(self):
        return f"{self.label}: {self.stated_text}"


class PaperDiscrepancy(PlanChild):
    """Where the paper contradicts itself: the two figures, where each is printed, and which
    one the plan uses. Shown on the dashboard, report and its workbook."""

    class Uses(models.TextChoices):
        FIRST = "first", "The first figure"
        SECOND = "second", "The second figure"
        NEITHER = "neither", "Neither (see notes)"

    KEY_FIELD = "key"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="discrepancies")
    key = models.SlugField(max_length=80)
    subject = models.CharField(max_length=300, help_text="What the two figures are of.")
    year = year_field(blank=True, default="")
    line = models.ForeignKey(
        SavingsLine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="discrepancies",
    )
    first_text = models.CharField("first figure as printed", max_length=100)
    first_value = MoneyField(signed=True, null=True, blank=True)
    first_where = models.CharField("where the first is printed", max_length=300)
    second_text = models.CharField("second figure as printed", max_length=100)
    second_value = MoneyField(signed=True, null=True, blank=True)
    second_where = models.CharField("where the second is printed", max_length=300)
    uses = models.CharField(
        "the plan uses", max_length=7, choices=Uses.choices, default=Uses.SECOND
    )
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "year", "key"]
        verbose_name = "paper discrepancy"
        verbose_name_plural = "paper discrepancies"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "key"],
                name="discrepancy_key_unique",
                violation_error_message="This plan already has a discrepancy with that key.",
            ),
            year_written("discrepancy_year_written_like_2017_18", blank=True),
        ]

    def __str__(self):
        return f"{self.subject}: {self.first_text} / {self.second_text}"

    @property
    def used_text(self) -> str:
        if self.uses == self.Uses.FIRST:
            return self.first_text
        if self.uses == self.Uses.SECOND:
            return self.second_text
        return ""

    @property
    def difference(self):
        if self.first_value is None or self.second_value is None:
            return None
        return self.first_value - self.second_value


# --------------------------------------------------------------------------------------------
# Money position: overspend forecasts, cost pressures, funding


class OverspendManager(models.Manager):
    def get_by_natural_key(self, authority_slug, plan_code, year, period, scenario, service_area):
        return self.get(
            plan__authority__slug=authority_slug,
            plan__code=plan_code,
            year=year,
            period=period,
            scenario=scenario,
            service_area=service_area,
        )


class OverspendForecast(PlanChild):
    """The month's forecast outturn against budget. Variance = outturn - budget.

    Papers often state only the overspend; then ``overspend`` holds it (a range when
    ``overspend_high`` is set) and budget and outturn stay empty.
    """

    class Scenario(models.TextChoices):
        BASE = "base", "Base"
        WORST = "worst", "Worst case"
        BEST = "best", "Best case"
        GROSS = "gross", "Before reserves and other savings"
        NET = "net", "After reserves and other savings"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="forecasts")
    year = year_field()
    period = period_field()
    service_area = models.CharField(max_length=200, blank=True, default="")
    scenario = models.CharField(max_length=5, choices=Scenario.choices, default=Scenario.BASE)
    budget = MoneyField(null=True, blank=True)
    forecast_outturn = MoneyField(null=True, blank=True)
    overspend = MoneyField(
        "stated overspend",
        signed=True,
        null=True,
        blank=True,
        help_text="Only when the paper gives the overspend without budget and outturn.",
    )
    overspend_high = MoneyField(
        "stated overspend (high)",
        signed=True,
        null=True,
        blank=True,
        help_text="Upper end when the overspend is stated as a range (£3m-£4m).",
    )
    commentary = Text(blank=True)
    month_assumed = models.BooleanField(
        default=False,
        help_text="The paper gives the figure but not its month: the month is assumed (the "
        "commentary says why), and every page that names the month says so.",
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = History()

    objects = OverspendManager()

    class Meta:
        ordering = ["plan", "year", "period", "service_area", "scenario"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year", "period", "scenario", "service_area"],
                name="one_forecast_per_month_scenario_area",
                violation_error_message="There is already a forecast for that month, scenario "
                "and service area.",
            ),
            year_written("forecast_year_written_like_2017_18"),
            period_1_12("forecast_period_1_12"),
            models.CheckConstraint(
                condition=(Q(budget__isnull=False) & Q(forecast_outturn__isnull=False))
                | Q(overspend__isnull=False),
                name="forecast_has_outturn_or_overspend",
                violation_error_message="Give the budget and forecast outturn, or the stated "
                "overspend.",
            ),
            models.CheckConstraint(
                condition=Q(overspend_high__isnull=True) | Q(overspend__lte=F("overspend_high")),
                name="forecast_overspend_low_not_above_high",
                violation_error_message="The stated overspend must not be above its high figure.",
            ),
            models.CheckConstraint(
                condition=~Q(("commentary", ""), ("month_assumed", True)),
                name="assumed_forecast_month_says_why",
                violation_error_message="Say in the commentary why the month is assumed: what "
                "the paper gives instead.",
            ),
        ]

    def __str__(self):
        return f"{fiscal.period_label(self.year, self.period)} {self.get_scenario_display()}"

    def natural_key(self):
        return (*self.plan.natural_key(), self.year, self.period, self.scenario, self.service_area)

    def clean(self):
        if (self.budget is None) != (self.forecast_outturn is None):
            raise ValidationError("Give both the budget and the forecast outturn, or neither.")
        if self.budget is None and self.overspend is None:
            raise ValidationError(
                {"budget": "Give the budget and forecast outturn, or the stated overspend."}
            )


class CostPressureManager(PlanChildManager):
    def get_by_natural_key(self, authority_slug, plan_code, year, period, title):
        return self.get(
            plan__authority__slug=authority_slug,
            plan__code=plan_code,
            year=year,
            period=period,
            title=title,
        )


class CostPressure(PlanChild):
    """A monthly in-year pressure, e.g. the cost of slipped placement moves."""

    class Kind(models.TextChoices):
        SLIPPAGE = "slippage", "Slippage of planned actions"
        DEMAND = "demand", "Demand"
        PRICE = "price", "Price"
        OTHER = "other", "Other"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="pressures")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SLIPPAGE)
    year = year_field()
    period = period_field()
    amount = MoneyField(signed=True)
    projected = models.BooleanField(
        default=False,
        help_text="A cost the paper projects for the month (what slippage 'will' cost), not "
        "one incurred when it was written: never counted as a cost to date, nor as a month "
        "with figures recorded.",
    )
    line = models.ForeignKey(
        SavingsLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="pressures"
    )
    notes = Text(blank=True)
    history = History()

    objects = CostPressureManager()

    class Meta:
        ordering = ["plan", "year", "period", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year", "period", "title"],
                name="one_pressure_per_title_and_month",
                violation_error_message="That pressure is already recorded for that month.",
            ),
            year_written("pressure_year_written_like_2017_18"),
            period_1_12("pressure_period_1_12"),
        ]

    def __str__(self):
        return f"{self.title} {fiscal.period_label(self.year, self.period)}"

    def natural_key(self):
        return (*self.plan.natural_key(), self.year, self.period, self.title)


class Funding(PlanChild):
    """Money that props up or repays the position: reserves, grants, invest-to-save."""

    class Kind(models.TextChoices):
        RESERVE_DRAW = "reserve_draw", "Reserves drawn"
        RESERVE_REPAYMENT = "reserve_repay", "Reserves repaid"
        RESERVE_OWED = "reserve_owed", "Reserves to be repaid (no agreed repayment plan)"
        GRANT = "grant", "Grant"
        INVEST_TO_SAVE = "invest_to_save", "Invest to save"
        CONTINGENCY = "contingency", "Contingency moved to base budget"

    KEY_FIELD = "title"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="funding")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    year = year_field(blank=True, default="")
    amount = MoneyField()
    source = models.CharField(max_length=200, blank=True, help_text="Who provides it.")
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "year", "kind", "title"]
        verbose_name_plural = "funding"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "title"],
                name="funding_title_unique",
                violation_error_message="This plan already has funding with that title.",
            ),
            year_written("funding_year_written_like_2017_18", blank=True),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="funding_not_negative",
                violation_error_message="Funding cannot be negative.",
            ),
        ]

    def __str__(self):
        return self.title


# --------------------------------------------------------------------------------------------
# KPIs and risks


class KPI(PlanChild):
    class Unit(models.TextChoices):
        COUNT = "count", "Count"
        PERCENT = "percent", "%"
        DAYS = "days", "Days"
        RATE = "rate", "Rate per 10,000 children"
        MONEY = "money", "£"
        RATIO = "ratio", "Ratio"

    # What a value of each unit can be, unless the KPI says its values have an open range
    # (``open_range``): children, days and rates are never negative; a percentage is a share
    # of 100. Money may be anything.
    BOUNDS = {
        Unit.COUNT: (0, None),
        Unit.DAYS: (0, None),
        Unit.RATE: (0, None),
        Unit.RATIO: (0, None),
        Unit.PERCENT: (0, 100),
    }

    class Direction(models.TextChoices):
        LOWER = "lower", "Lower is better"
        HIGHER = "higher", "Higher is better"

    class Source(models.TextChoices):
        """Where the monthly actuals come from: typed in, or the plan's placement counts (so
        a figure the counts already give is not typed twice). The derivations live in
        ``plans.figures.kpis``; a source named after a placement kind counts the children in
        the plan's types of that kind."""

        TYPED = "typed", "Typed in each month"
        CHILDREN = "children", "Children looked after: every placement type's count"
        IN_HOUSE_SHARE = "in_house_share", "In-house share of fostering (in-house / in-house + IFA)"
        RESIDENTIAL = "residential", "Children in residential placements (counts)"
        IFA = "ifa", "Children with independent fostering agencies (counts)"
        IN_HOUSE = "in_house", "Children in in-house fostering (counts)"
        CONNECTED = "connected", "Children with connected persons / SGO (counts)"
        SUPPORTED = "supported", "Children in supported accommodation (counts)"
        PARENT_CHILD = "parent_child", "Children in parent and child placements (counts)"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="kpis")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=300)
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.COUNT)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    per_child_population = models.BooleanField(
        default=False, help_text="Show a rate per 10,000 children beside the count."
    )
    open_range = models.BooleanField(
        "may be negative or over 100%",
        default=False,
        help_text="A change or a difference (a net reduction can be negative), or a percentage "
        "that can pass 100% (spend against budget). Otherwise a value is never negative and a "
        "percentage is at most 100.",
    )
    baseline_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    baseline_date = models.DateField(null=True, blank=True)
    tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Share of the target a value may miss by and still be Amber (blank: the "
        "default setting).",
    )
    source = models.CharField(
        "actuals come from",
        max_length=16,
        choices=Source.choices,
        default=Source.TYPED,
        help_text="Typed in each month, or derived from the plan's placement counts (then an "
        "actual cannot be typed: record the counts and moves instead).",
    )
    definition = Text(blank=True)
    notes = Text(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "order", "name"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="kpi_code_unique",
                violation_error_message="This plan already has a KPI with that code.",
            )
        ]

    def __str__(self):
        return self.name

    def value_problem(self, value) -> str | None:
        """Why ``value`` cannot be a value of this KPI (None when it can)."""
        low, high = (None, None) if self.open_range else self.BOUNDS.get(self.unit, (None, None))
        said = f"{value.normalize():f} was given"
        if low is not None and value < low:
            return f"{self.name} cannot be negative: {said} (a KPI of a change can be marked so)."
        if high is not None and value > high:
            return (
                f"{self.name} is a percentage, from 0 to {high}: {said} (a KPI that can pass "
                "100% can be marked so)."
            )
        return None

    @property
    def derived(self) -> bool:
        """Its actuals come from the placement counts, not typed in."""
        return self.source != self.Source.TYPED

    @property
    def derived_unit(self) -> str:
        """The unit a derived KPI's actuals are in: a share is a %, the rest count children."""
        return self.Unit.PERCENT if self.source == self.Source.IN_HOUSE_SHARE else self.Unit.COUNT

    def clean(self):
        self._check_range()
        if not self.derived:
            return
        if self.unit != self.derived_unit:
            unit = "percentage" if self.derived_unit == self.Unit.PERCENT else "count"
            raise ValidationError(
                {
                    "unit": f"Actuals from “{self.get_source_display()}” are a {unit}: "
                    "set the unit to match."
                }
            )
        if self.pk:
            typed = list(
                KpiPoint.objects.filter(kpi=self, kind=KpiPoint.Kind.ACTUAL)
                .order_by("date")
                .values_list("date", flat=True)
            )
            if typed:
                days = ", ".join(f"{d:%-d %b %Y}" for d in typed[:5])
                more = f" and {len(typed) - 5} more" if len(typed) > 5 else ""
                raise ValidationError(
                    {
                        "source": f"This KPI has {len(typed)} typed actual"
                        f"{'s' if len(typed) != 1 else ''} ({days}{more}). Delete them before "
                        "taking its actuals from the placement counts, so that no typed figure "
                        "is silently replaced."
                    }
                )

    def _check_range(self) -> None:
        """The baseline and the KPI's saved values fit its unit and range
        (``value_problem``): changing the unit or the range never leaves a value it refuses."""
        if self.baseline_value is not None and (problem := self.value_problem(self.baseline_value)):
            raise ValidationError({"baseline_value": problem})
        if not self.pk:
            return
        bad = [
            (day, value)
            for day, value in KpiPoint.objects.filter(kpi=self)
            .order_by("date")
            .values_list("date", "value")
            if self.value_problem(value)
        ]
        if bad:
            said = ", ".join(f"{v.normalize():f} on {d:%-d %b %Y}" for d, v in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise ValidationError(
                {
                    "open_range": f"This KPI has saved values its unit and range would refuse "
                    f"({said}{more}): tick “may be negative or over 100%” or correct them "
                    "first."
                }
            )


def derived_actual_message(kpi: KPI) -> str:
    """Why an actual cannot be typed on ``kpi`` (form, month-end page and workbook alike)."""
    return (
        f"“{kpi.name}” takes its actuals from the placement counts "
        f"({kpi.get_source_display()}): an actual cannot be typed. Record the month's "
        "placement counts and moves instead."
    )


class KpiPointManager(models.Manager):
    def get_by_natural_key(self, authority_slug, plan_code, kpi_code, kind, date, label):
        return self.get(
            kpi__plan__authority__slug=authority_slug,
            kpi__plan__code=plan_code,
            kpi__code=kpi_code,
            kind=kind,
            date=date,
            label=label,
        )


class KpiPoint(Versioned):
    """A dated value of a KPI: a target, an actual, or a comparator (SN average, England)."""

    class Kind(models.TextChoices):
        TARGET = "target", "Target"
        ACTUAL = "actual", "Actual"
        COMPARATOR = "comparator", "Comparator"

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="points")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    date = models.DateField()
    value = models.DecimalField(max_digits=12, decimal_places=2)
    label = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="For comparators: statistical neighbours, England, previous plan...",
    )
    applies_from = models.DateField(
        "in force from",
        null=True,
        blank=True,
        help_text="For a target in force over a period (5 agency social workers until "
        "September 2014): the first day it applies. Blank: a milestone that applies from its "
        "date.",
    )
    as_printed = models.CharField(
        max_length=100,
        blank=True,
        help_text="The value as the paper prints it where that says more than the number: "
        "'below 10%', '35+', '10-15'.",
    )
    undated = models.BooleanField(
        "no date given",
        default=False,
        help_text="The paper gives this target no date (an undated goal): its date is only "
        "where it is filed, and no page says it was due then.",
    )
    stated_rate = models.DecimalField(
        "rate per 10,000 as printed",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Where the paper prints a rate per 10,000 children beside the count, so the "
        "app can show it beside the rate it computes.",
    )
    notes = Text(blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = History()

    objects = KpiPointManager()

    class Meta:
        ordering = ["kpi", "date", "kind"]
        verbose_name = "KPI value"
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "kind", "date", "label"],
                name="one_kpi_point_per_date",
                violation_error_message="This KPI already has that kind of value at that date.",
            ),
            models.CheckConstraint(
                condition=Q(applies_from__isnull=True) | Q(applies_from__lte=F("date")),
                name="kpi_point_in_force_before_its_date",
                violation_error_message="A target must come into force on or before its date.",
            ),
        ]

    def __str__(self):
        return f"{self.kpi.name} {self.get_kind_display()} {self.date}: {self.value}"

    def natural_key(self):
        return (*self.kpi.natural_key(), self.kind, self.date.isoformat(), self.label)

    natural_key.dependencies = ["plans.kpi"]

    def clean(self):
        # A KPI derived from the placement counts has no typed actuals.
        if self.kind == self.Kind.ACTUAL and self.kpi_id and self.kpi.derived:
            raise ValidationError({"kind": derived_actual_message(self.kpi)})
        problem = (
            self.kpi.value_problem(self.value) if self.kpi_id and self.value is not None else None
        )
        if problem:
            raise ValidationError({"value": problem})


class Risk(PlanChild):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATED = "mitigated", "Mitigated"
        CLOSED = "closed", "Closed"
        OCCURRED = "occurred", "Occurred"

    KEY_FIELD = "reference"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="risks")
    reference = models.CharField(max_length=20)
    description = Text()
    mitigations = Text(blank=True)
    likelihood = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    impact = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    owner = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "reference"],
                name="risk_reference_unique",
                violation_error_message="This plan already has a risk with that reference.",
            ),
            models.CheckConstraint(
                condition=Q(likelihood__isnull=True) | Q(likelihood__gte=1, likelihood__lte=5),
                name="risk_likelihood_1_5",
                violation_error_message="The likelihood must be from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=Q(impact__isnull=True) | Q(impact__gte=1, impact__lte=5),
                name="risk_impact_1_5",
                violation_error_message="The impact must be from 1 to 5.",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.description[:60]}"

    @property
    def score(self):
        if self.likelihood and self.impact:
            return self.likelihood * self.impact
        return None


# --------------------------------------------------------------------------------------------
# Placements: the cost driver. Counts and moves of children, never a name or an identifier.

WEEKS_PER_YEAR = 52  # a weekly unit cost x 52 is its annual cost (the councils' convention)


class PlacementType(PlanChild):
    """A kind of placement with its unit cost (the MTFS's residential placement at £190k a
    year; a high-end IFA)."""

    class Kind(models.TextChoices):
        RESIDENTIAL = "residential", "Residential"
        IFA = "ifa", "Independent fostering agency"
        IN_HOUSE = "in_house", "In-house fostering"
        CONNECTED = "connected", "Connected persons / special guardianship"
        SUPPORTED = "supported", "Supported accommodation"
        PARENT_CHILD = "parent_child", "Parent and child"
        OTHER = "other", "Other"

    class CostBasis(models.TextChoices):
        ANNUAL = "annual", "Per child per year"
        WEEKLY = "weekly", "Per child per week"
        TOTAL = "total", "Whole spend per year (the paper gives no count)"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="placement_types")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OTHER)
    unit_cost = MoneyField(
        null=True,
        blank=True,
        help_text="Blank when the paper gives none: every cost of this type is then unknown.",
    )
    cost_basis = models.CharField(
        "unit cost is", max_length=6, choices=CostBasis.choices, default=CostBasis.ANNUAL
    )
    stated_text = models.CharField(
        max_length=100, blank=True, help_text="The unit cost as the paper printed it."
    )
    assumption = Text(
        blank=True,
        help_text="What is assumed where the paper gives only a total or a difference.",
    )
    notes = Text(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="placement_type_code_unique",
                violation_error_message="This plan already has a placement type with that code.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__isnull=True) | Q(unit_cost__gte=0),
                name="placement_unit_cost_not_negative",
                violation_error_message="A unit cost cannot be negative.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def annual_cost(self):
        """The cost of one child for a year (of the whole spend, for a total), or None."""
        if self.unit_cost is None:
            return None
        if self.cost_basis == self.CostBasis.WEEKLY:
            return self.unit_cost * WEEKS_PER_YEAR
        return self.unit_cost


class PlacementCountManager(models.Manager):
    def get_by_natural_key(self, authority_slug, plan_code, type_code, year, period, kind):
        return self.get(
            type__plan__authority__slug=authority_slug,
            type__plan__code=plan_code,
            type__code=type_code,
            year=year,
            period=period,
            kind=kind,
        )


class PlacementCount(Versioned):
    """How many children were (actual) or were budgeted to be (budget) in a placement type at
    the end of a month. A count stands until the next one of its kind; an actual count also
    moves with the moves recorded as happened after it."""

    class Kind(models.TextChoices):
        ACTUAL = "actual", "Actual"
        BUDGET = "budget", "Budgeted or planned"

    type = models.ForeignKey(PlacementType, on_delete=models.CASCADE, related_name="counts")
    year = year_field()
    period = period_field()
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.ACTUAL)
    count = models.PositiveIntegerField(
        help_text="Number of children; never who they are.",
        # Every form, the month-end page and the workbook read the bound from here.
        validators=[MaxValueValidator(WHOLE_NUMBER_LIMIT)],
    )
    assumed = models.BooleanField(
        default=False,
        help_text="The paper prints no such count: it is worked out from what the paper does "
        "give (the notes say how). Every page marks it, and the budget or forecast resting on "
        "it, as assumed.",
    )
    notes = Text(blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = History()

    objects = PlacementCountManager()

    class Meta:
        ordering = ["type", "year", "period", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "year", "period", "kind"],
                name="one_placement_count_per_month",
                violation_error_message="That placement type already has a count of that kind "
                "for that month.",
            ),
            year_written("count_year_written_like_2017_18"),
            period_1_12("count_period_1_12"),
            models.CheckConstraint(
                condition=~models.Q(("notes", ""), ("assumed", True)),
                name="assumed_count_says_how",
                violation_error_message="Say in the notes how an assumed count was worked out "
                "from what the paper gives.",
            ),
        ]

    def __str__(self):
        return (
            f"{self.type.name} {fiscal.period_label(self.year, self.period)} "
            f"{self.get_kind_display()}: {self.count}"
        )

    def natural_key(self):
        return (*self.type.natural_key(), self.year, self.period, self.kind)

    natural_key.dependencies = ["plans.placementtype"]


class PlacementMove(PlanChild):
    """A planned move of a number of children from one placement type to another (or out of
    care), in a planned month, and the month it actually happened. Its saving is the unit-cost
    difference for the months that remain; a late move costs that difference for each month
    of delay (the MTFS's Table 2 method)."""

    # Year or date fields that must fall within the plan's years (forms and workbook).
    STRICT_YEARS = ("planned_year",)

    KEY_FIELD = "reference"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="placement_moves")
    reference = models.CharField(max_length=40, help_text="e.g. MTFS-02/1; never a child's.")
    from_type = models.ForeignKey(
        PlacementType, on_delete=models.RESTRICT, related_name="moves_out", verbose_name="from"
    )
    to_type = models.ForeignKey(
        PlacementType,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="moves_in",
        verbose_name="to",
        help_text="Blank: out of care (no continuing placement cost).",
    )
    number = models.PositiveSmallIntegerField(
        "number of children", default=1, validators=[MinValueValidator(1)]
    )
    planned_year = year_field()
    planned_period = period_field(verbose_name="planned month (period)")
    month_assumed = models.BooleanField(
        "planned month assumed",
        default=False,
        help_text="The paper gives the year, not the month: the month is assumed (the notes "
        "say why). The month still rates the move's savings line, and every page that names "
        "it or says the move is late says it is assumed.",
    )
    actual_year = year_field(blank=True, default="", verbose_name="happened in year")
    actual_period = period_field(null=True, blank=True, verbose_name="happened in month (period)")
    line = models.ForeignKey(
        SavingsLine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moves",
        verbose_name="savings line",
        help_text="The savings line this move delivers.",
    )
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "planned_year", "planned_period", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "reference"],
                name="placement_move_reference_unique",
                violation_error_message="This plan already has a move with that reference.",
            ),
            models.CheckConstraint(
                condition=Q(planned_year__regex=fiscal.YEAR_PATTERN),
                name="move_planned_year_written_like_2017_18",
                violation_error_message=YEAR_MESSAGE,
            ),
            models.CheckConstraint(
                condition=Q(planned_period__gte=1, planned_period__lte=12),
                name="move_planned_period_1_12",
                violation_error_message="The planned month must be between 1 (April) and 12.",
            ),
            models.CheckConstraint(
                condition=(Q(actual_year="") & Q(actual_period__isnull=True))
                | (
                    Q(actual_year__regex=fiscal.YEAR_PATTERN)
                    & Q(actual_period__gte=1, actual_period__lte=12)
                ),
                name="move_actual_year_and_month_together",
                violation_error_message="Give both the year and the month the move happened, "
                "or neither.",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="move_number_at_least_one",
                violation_error_message="A move is of at least one child.",
            ),
            models.CheckConstraint(
                condition=~Q(from_type=F("to_type")),
                name="move_between_different_types",
                violation_error_message="A move goes from one placement type to another.",
            ),
            models.CheckConstraint(
                condition=~Q(("notes", ""), ("month_assumed", True)),
                name="assumed_move_month_says_why",
                violation_error_message="Say in the notes why the planned month is assumed: "
                "what the paper gives instead.",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.from_type} → {self.to_type or 'out of care'}"

    def drives(self, year: str) -> bool:
        """Whether this move drives its savings line in ``year``: a line with a move planned
        in a year takes that year's progress (achieved, forecast, RAG) from its moves at each
        month end, never typed."""
        return self.line_id is not None and self.planned_year == year

    @staticmethod
    def driven(plan) -> set[tuple[int, str]]:
        """``(line id, year)`` of every line ``plan``'s moves drive (``drives``), one query."""
        return set(
            PlacementMove.objects.filter(plan=plan, line__isnull=False).values_list(
                "line_id", "planned_year"
            )
        )

    @property
    def planned_label(self) -> str:
        label = fiscal.month_label(self.planned_year, self.planned_period)
        return fiscal.month_said(label, self.month_assumed)

    @property
    def actual_label(self) -> str:
        if not self.actual_year or not self.actual_period:
            return ""
        return fiscal.month_label(self.actual_year, self.actual_period)

    def clean(self):
        errors = {}
        for name in ("from_type", "to_type", "line"):
            related = getattr(self, name, None) if getattr(self, f"{name}_id") else None
            if related is not None and self.plan_id and related.plan_id != self.plan_id:
                errors[name] = "That belongs to another plan."
        if self.from_type_id and self.from_type_id == self.to_type_id:
            errors["to_type"] = "A move goes from one placement type to another."
        if bool(self.actual_year) != (self.actual_period is not None):
            errors["actual_period"] = (
                "Give both the year and the month the move happened, or neither."
            )
        if errors:
            raise ValidationError(errors)


class PlacementScenario(PlanChild):
    """A what-if: changed unit costs, counts or move dates, shown beside the base figures and
    never written into them."""

    KEY_FIELD = "name"
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="placement_scenarios")
    name = models.CharField(max_length=200)
    description = Text(blank=True)
    unit_cost_change = models.DecimalField(
        "unit cost change (%)",
        max_digits=6,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(-100), MaxValueValidator(1000)],
        help_text="e.g. -1 for a 1% reduction in unit costs.",
    )
    placement_type = models.ForeignKey(
        PlacementType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The type whose cost and count change; blank: every type.",
    )
    count_change = models.IntegerField(
        "change in children",
        default=0,
        # A plausible change: no authority has more than a few thousand children in care.
        validators=[MinValueValidator(-10_000), MaxValueValidator(10_000)],
        help_text="e.g. -10 for ten fewer children, from the year below, each year after.",
    )
    count_change_from = year_field(blank=True, default="", verbose_name="count change from year")
    move_delay_months = models.PositiveSmallIntegerField(
        "moves late by (months)", default=0, validators=[MaxValueValidator(24)]
    )
    moves_delayed = models.PositiveSmallIntegerField(
        "number of moves late",
        null=True,
        blank=True,
        help_text="The first N moves not yet made are late; blank: all of them.",
    )
    notes = Text(blank=True)
    history = History()

    objects = PlanChildManager()

    class Meta:
        ordering = ["plan", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "name"],
                name="placement_scenario_name_unique",
                violation_error_message="This plan already has a scenario with that name.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost_change__gte=-100),
                name="scenario_unit_cost_change_not_below_minus_100",
                violation_error_message="Unit costs cannot fall by more than 100%%.",
            ),
            models.CheckConstraint(
                condition=Q(count_change=0) | ~Q(count_change_from=""),
                name="scenario_count_change_has_year",
                violation_error_message="Say from which year the number of children changes.",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.count_change and not self.count_change_from:
            raise ValidationError(
                {"count_change_from": "Say from which year the number of children changes."}
            )
        if self.placement_type_id and self.plan_id and self.placement_type.plan_id != self.plan_id:
            raise ValidationError({"placement_type": "That belongs to another plan."})


class Commentary(Versioned):
    """The director's (or finance manager's) commentary on a plan for a month: any month the
    plan reports on, so within ten years of its own (the MTFS's as-at month is in 2016/17,
    a year before its first)."""

    class Role(models.TextChoices):
        DIRECTOR = "director", "Director's commentary"
        FINANCE = "finance", "Finance commentary"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="commentaries")
    year = year_field()
    period = period_field()
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.DIRECTOR)
    body = Text()
    # Who wrote it and when, kept through edits; ``author`` and ``updated_at`` are the
    # latest edit's. None for the paper's own commentary (loaded from the seed).
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    written_at = models.DateTimeField(null=True, blank=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = History()

    class Meta:
        ordering = ["plan", "-year", "-period", "role"]
        verbose_name_plural = "commentaries"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year", "period", "role"],
                name="one_commentary_per_month_role",
                violation_error_message="There is already commentary of that kind for that "
                "month; edit it instead.",
            ),
            year_written("commentary_year_written_like_2017_18"),
            period_1_12("commentary_period_1_12"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} {self.label}"

    def save(self, *args, **kwargs):
        self.mark_written()
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)

    def mark_written(self) -> None:
        """A new commentary records who wrote it and when (its author, now): once, whatever
        creates it (the dashboard, the record pages, a workbook import in bulk)."""
        if self._state.adding and self.written_at is None and self.author_id is not None:
            self.written_by_id = self.author_id
            self.written_at = timezone.now()

    @property
    def byline(self) -> str:
        """Who wrote it and when, and who last edited it and when if anyone did:
        "Written by Ann Lee on 3 December 2017; last edited by Bob Roe on 5 December 2017".
        Every page, report, pack and workbook says it so."""
        if self.written_at is None:  # the paper's own, or written before writers were kept
            text = f"Written by {person_name(self.author)} on {_day(self.updated_at)}"
        else:
            text = f"Written by {officer_name(self.written_by)} on {_day(self.written_at)}"
        if self.version > 1:
            text += f"; last edited by {officer_name(self.author)} on {_day(self.updated_at)}"
        return text


def officer_name(user) -> str:
    """An officer who wrote something: named, or "a former user" once their account is gone
    (never "the paper")."""
    return "a former user" if user is None else person_name(user)


def person_name(user) -> str:
    """A person as a byline or a publication names them: their full name, else their user name."""
    if user is None:
        return "the paper"
    return user.get_full_name() or user.username


def _day(moment) -> str:
    return f"{timezone.localtime(moment):%-d %B %Y}" if moment else "an unknown date"


# --------------------------------------------------------------------------------------------
# The month's close: open -> submitted (finance) -> signed off (director) -> published


class MonthClose(Versioned):
    """Where one month of a plan stands in the close. No row means the month is open.

    Each step records who took it and when; a step back (with its reason, in the history)
    clears the steps after it. Publishing stores a ``PublishedReport``; reopening a published
    month for a correction keeps every earlier publication."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted by finance"
        SIGNED_OFF = "signed_off", "Signed off by the director"
        PUBLISHED = "published", "Published"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="closes")
    year = year_field()
    period = period_field()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    history = History()

    class Meta:
        ordering = ["plan", "-year", "-period"]
        verbose_name = "month close"
        verbose_name_plural = "month closes"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year", "period"],
                name="one_close_per_plan_month",
                violation_error_message="This plan's month already has a close state.",
            ),
            year_written("close_year_written_like_2017_18"),
            period_1_12("close_period_1_12"),
        ]
        # The steps of the close, as permissions of the role groups (recovery.access):
        # ``can(user, "submit", "month")`` and so on.
        permissions = [
            ("submit_month", "Submit a month's figures for sign-off"),
            ("withdraw_month", "Withdraw a month's submission"),
            ("return_month", "Return a submitted or signed-off month to finance"),
            ("signoff_month", "Sign off a month with the director's commentary"),
            ("publish_month", "Publish a signed-off month's report"),
            ("reopen_month", "Reopen a published month for a correction"),
            ("republish_month", "Publish the correction of a published month"),
            ("view_unpublished", "See a plan's figures before they are published"),
        ]

    def __str__(self):
        return f"{self.label}: {self.get_state_display()}"

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)


class PublishedReport(models.Model):
    """A month's report as it was published: the figures as data, the committee pack and the
    workbook as generated then. Never changed: a correction is a new version (``number``)
    that says what changed from the one before."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="published_reports")
    year = year_field()
    period = period_field()
    number = models.PositiveSmallIntegerField("version", default=1)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField()
    note = models.CharField(
        max_length=100, blank=True, help_text="Why this version was published (a correction)."
    )
    figures = models.JSONField(help_text="What the report showed, as plain data.")
    changes = models.JSONField(
        default=list, blank=True, help_text="What changed from the previous version."
    )
    pdf = models.BinaryField(help_text="The committee pack as published.")
    xlsx = models.BinaryField(help_text="The report workbook as published.")

    class Meta:
        ordering = ["plan", "-year", "-period", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "year", "period", "number"],
                name="one_published_version_per_month",
                violation_error_message="That version of this month's report is already published.",
            ),
            year_written("published_year_written_like_2017_18"),
            period_1_12("published_period_1_12"),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="published_version_from_1",
                violation_error_message="A published version is numbered from 1.",
            ),
        ]

    def __str__(self):
        return f"{self.plan} {self.label} version {self.number}"

    def save(self, *args, **kwargs):
        # What went to the committee is fixed: an integrity rule, like a constraint.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("A published report is never changed; publish a new version.")
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return fiscal.period_label(self.year, self.period)


class PendingImport(models.Model):
    """An uploaded plan workbook between its preview and its confirmation: the workbook as
    parsed once (not the file), held in the database so any app process can finish it, for
    its owner only, and for a limited time (``PENDING_IMPORT_MINUTES``)."""

    token = models.CharField(max_length=43, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, null=True, blank=True)
    filename = models.CharField(max_length=120)
    parsed = models.BinaryField(help_text="The parsed workbook (pickled plain data).")
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="pending_import_created")]

    def __str__(self):
        return f"{self.filename} ({self.user})"
