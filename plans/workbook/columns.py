"""A workbook sheet as a django-import-export resource, its columns derived from the model.

``Column`` is an import-export ``Field`` that knows its header, its help for officers and
how its cells are read. What a column accepts (money, signed money, a financial year, a
period, a choice, a date, how long its text may be, whether it is required) comes from the
model field it fills, so the model states each rule once; a column overrides only where the
workbook differs (a key it can make from another column, a reference to another sheet).

``SheetResource`` imports one sheet into one plan: existing records are matched on the
model's unique constraint (loaded once), cells are read by the columns (``cells.read``), each
record is validated without per-row queries, new records are saved in bulk with their
history, changed ones through ``plans.services`` (version check, history). Every change is
noted (``RecordChange``) for the preview, which is the same import rolled back.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import UniqueConstraint, signals
from django.db.models.base import ModelState
from import_export import fields, instance_loaders, resources, results, widgets

from plans import models as m
from plans import services
from plans.rules import constraint_problems, whole_number_bounds, year_problem
from plans.workbook import cells
from plans.workbook.cells import (  # noqa: F401 - the kinds belong to reading, shared here
    BOOL,
    CHOICE,
    DATE,
    INT,
    LONG,
    MONEY,
    MONEY_KINDS,
    NUMBER,
    PERIOD,
    REF,
    SHARE,
    SIGNED_MONEY,
    SLUG,
    TEXT,
    VOLUME,
    YEAR,
    choice_label,
    header_key,
)
from recovery import fiscal
from recovery.money import Amount, format_amount, format_money

CREATE, UPDATE, DELETE, SAME = "create", "update", "delete", "same"
LISTED = 200  # records a preview lists per table (with their figures); counts cover the rest

ACCEPTS = {
    TEXT: "Text.",
    LONG: "Text; line breaks are kept.",
    SLUG: "Letters, digits and hyphens, no spaces, e.g. mtfs-2017-21.",
    MONEY: "Pounds: 129000, £129,000, 129k or £1.2m. Not negative.",
    SIGNED_MONEY: "Pounds: 129000, £129,000, 129k or £1.2m; a minus sign or (brackets) for a "
    "negative figure.",
    NUMBER: "A number; 12.5% is read as 12.5.",
    SHARE: "A share between 0 and 1: 0.5 or 50%.",
    INT: "A whole number from {low} to {high}.",
    DATE: "A date: 31/10/2017, 2017-10-31 or 31 Oct 2017; a month alone (Oct 2017) means its "
    "last day.",
    YEAR: "A financial year written like 2017/18.",
    PERIOD: "1 (April) to 12 (March); P7, Month 7, M7, Oct or October are read too.",
    BOOL: "Y or N (Yes/No, True/False).",
    REF: "Text, matched without regard to capitals.",
}


def _choices_class(model, model_field):
    """The ``TextChoices`` behind a model field's choices (for labels and drop-downs)."""
    wanted = list(model_field.choices)
    for candidate in [*vars(model).values(), m.RAG]:
        is_choices = isinstance(candidate, type) and issubclass(candidate, models.Choices)
        if is_choices and list(candidate.choices) == wanted:
            return candidate
    raise LookupError(f"No choices class for {model.__name__}.{model_field.name}")


def _kind_of(model_field) -> str:
    if isinstance(model_field, models.ForeignKey):
        return REF
    if isinstance(model_field, m.MoneyField):
        return SIGNED_MONEY if model_field.signed else MONEY
    if model_field.choices:
        return CHOICE
    if isinstance(model_field, models.BooleanField):
        return BOOL
    if isinstance(model_field, models.DateField):
        return DATE
    if fiscal.validate_year in model_field.validators:
        return YEAR
    if isinstance(model_field, models.DecimalField):
        return SHARE if model_field.decimal_places == 4 else NUMBER
    if isinstance(model_field, models.IntegerField):
        bounds = {type(v): v.limit_value for v in model_field.validators}
        if bounds.get(MinValueValidator) == 1 and bounds.get(MaxValueValidator) == 12:
            return PERIOD
        return INT
    if isinstance(model_field, models.SlugField):
        return SLUG
    return LONG if isinstance(model_field, models.TextField) else TEXT


LEAVE = object()  # a blank cell in an update: the field stays as it is
# refs: the kinds of record ("line", "kpi"...) whose sheet could not be read (a required sheet
# missing, a problem of its header row: ``importer._unread``): what other sheets say of them
# is not checked.
UNREAD = "sheets not read"
# The kinds of column whose cells repeat from row to row, and how many different texts of
# each column an import remembers (``Column.clean_remembered``).
REPEATING = frozenset({CHOICE, REF, YEAR, PERIOD, BOOL, DATE})
MEMO_SIZE = 10_000


class Column(fields.Field):
    """One column of a sheet (or one field row of the Plan sheet)."""

    def __init__(self, header, *, help="", width=16, aliases=(), **overrides):  # noqa: A002
        super().__init__(column_name=header, widget=widgets.Widget())
        self.header, self.help, self.width, self.aliases = header, help, width, aliases
        self.overrides = overrides  # kind, required, max_length where the workbook differs
        self.kind = self.required = self.choices = self.low = self.high = self.max_length = None
        self.names_record = False
        self.labels: dict = {}

    def __deepcopy__(self, memo):
        return self  # bound once, read-only after: every resource instance shares it

    @property
    def field(self) -> str:
        return self.attribute

    def bind(self, model) -> None:
        f = model._meta.get_field(self.attribute)
        self.model_field = f
        self.kind = self.overrides.get("kind") or _kind_of(f)
        self.required = self.overrides.get(
            "required", not f.blank and not f.has_default() and not f.null
        )
        self.max_length = self.overrides.get("max_length", getattr(f, "max_length", None))
        if self.kind == CHOICE:
            self.choices = _choices_class(model, f)
            self.labels = {v: str(label) for v, label in self.choices.choices}
        if self.kind == INT:
            self.low, self.high = whole_number_bounds(f)
        if self.kind in (NUMBER, SHARE, VOLUME):
            self.places, self.max_digits = f.decimal_places, f.max_digits

    @property
    def accepts(self) -> str:
        """What an officer may type, for the About sheet and the docs."""
        if self.kind == CHOICE:
            return "; ".join(choice_label(self.choices, v) for v in self.choices.values)
        return ACCEPTS.get(self.kind, "").format(low=self.low, high=self.high)

    def blank(self):
        """The value an emptied field takes."""
        f = self.model_field
        if f.has_default():
            return f.get_default()
        return "" if isinstance(f, (models.CharField, models.TextField)) else None

    def clean(self, row, **kwargs):
        return cells.read(self, row.get(self.column_name))

    def clean_remembered(self, row, memo: dict):
        """``clean``, remembering in ``memo`` what each text read as, for the columns whose
        cells repeat (a choice, a reference, a year, a date): a line's reference on each of
        its 48 progress rows is read once. Only text that reads without a problem is
        remembered (a problem is found again, and reported, on every row)."""
        value = row.get(self.column_name)
        if type(value) is not str:
            return cells.read(self, value)
        try:
            return memo[value]
        except KeyError:
            pass
        result = cells.read(self, value)
        if len(memo) < MEMO_SIZE:
            memo[value] = result
        return result

    def settle(self, value, *, creating: bool):
        """What a read cell does to the field: ``(clear)`` empties it; a blank cell leaves it
        as it is in an update (``LEAVE``), and is ``None`` for a new record (the field's
        default then, or "required")."""
        if value is cells.CLEAR:
            return self.blank()
        if value is None and not creating:
            return LEAVE
        return value

    @functools.cached_property
    def export_name(self) -> str:
        """What ``values()`` is asked for to export this column: a reference is written as
        the key officers type (a line's reference, a KPI's or plan's code, an authority's
        short name)."""
        if self.kind != REF:
            return self.attribute
        target = self.model_field.related_model
        key = next(k for k in ("reference", "code", "slug") if hasattr(target, k))
        return f"{self.attribute}__{key}"

    def export(self, instance, **kwargs):
        return instance[self.export_name]


@dataclass
class FieldChange:
    label: str
    old: str  # as shown on the preview (long text shortened)
    new: str


@dataclass
class RecordChange:
    sheet: str
    action: str
    label: str
    row: int | None
    changes: list[FieldChange] = field(default_factory=list)
    version: int | None = None


@functools.lru_cache(maxsize=4096)
def _show_date(value: date) -> str:
    return value.strftime("%-d %b %Y")


def show(value, col: Column | None = None) -> str:
    if value is None or value == "":
        return "(blank)"
    if type(value) is date and (col is None or col.kind == DATE):
        return _show_date(value)  # as below, remembered: a plan's progress shares its dates
    if isinstance(value, Amount):
        return format_amount(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, models.Model):
        return str(getattr(value, "reference", None) or getattr(value, "code", None) or value)
    if col is not None and col.kind in MONEY_KINDS:
        return format_money(value)
    if col is not None and col.choices is not None:
        return col.labels.get(value, str(value))
    if hasattr(value, "strftime"):
        return value.strftime("%-d %b %Y")
    text = f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


class _RowResult(results.RowResult):
    def add_instance_info(self, instance):
        """Nothing: the preview names each record itself (``note``), so import-export's
        text of every record is not made."""


class _Result(results.Result):
    """import-export's result of a sheet, keeping only the rows that went wrong: it keeps
    every row's result otherwise (96,000 on the largest plan's Progress sheet), and the import
    reads only the rows that failed."""

    def append_row_result(self, row_result):
        if row_result.errors:
            super().append_row_result(row_result)

    def row_errors(self):
        """Each failed row's errors, by its row in the dataset (import-export counts the rows
        it kept, which leaves out the records an update left as they were)."""
        return [(row.number, row.errors) for row in self.error_rows]


_PLAIN = (str, int, float, Decimal, date, type(None))  # values no two records can share


@functools.cache
def _blank_record(model) -> dict | None:
    """The fields of a new ``model()``, to copy into each new record of an import (a model's
    ``__init__`` works them out field by field, a tenth of the import of a long Progress
    sheet), or None where copying would differ: a default made by a function, a default
    value that could be changed in place, a receiver of the model's init signals."""
    fields = model._meta.concrete_fields
    if any(f.has_default() and callable(f.default) for f in fields):
        return None
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return None
    values = dict(vars(model()))
    del values["_state"]
    return values if all(isinstance(v, _PLAIN) for v in values.values()) else None


class Ambiguous(str):
    """What a reference map holds for a name two records go by: the problem to say."""


class SheetResource(resources.Resource):
    """A sheet's import into ``plan``. Subclasses declare their columns and a ``Meta`` with
    ``model``, ``name`` (the sheet's name), ``help`` and, where they differ, ``required`` and
    ``freeze``. Records that hang from a line, KPI or placement type are found through it
    (``parent``, from the model)."""

    class Meta:
        use_transactions = False  # the whole workbook is one transaction (importer)
        skip_diff = True  # changes are noted per field below, for the preview
        report_skipped = False
        instance_loader_class = instance_loaders.BaseInstanceLoader  # matched in get_instance

    name = ""
    help = ""
    required = False
    freeze = "B2"
    parent = None

    @classmethod
    def bind(cls) -> None:
        meta = cls._meta
        cls.model = meta.model
        cls.name, cls.help = meta.name, meta.help
        cls.required = getattr(meta, "sheet_required", False)
        cls.freeze = getattr(meta, "freeze", "B2")
        attname, parent = m.plan_link(cls.model)
        cls.parent = attname.removesuffix("_id") if parent else None  # line, KPI or type
        cls.columns = tuple(cls.fields.values())
        for name, col in cls.fields.items():
            col.attribute = col.attribute or name
            col.bind(cls.model)
        cls.by_field = {c.field: c for c in cls.columns}
        # The model's field checks run only for numbers, which may carry validators the cell
        # reader does not apply. Every other column is read by a cell reader that applies its
        # model field's own limits, or is a reference resolved to a record of the plan; the
        # fields no column fills are set by the import itself (a progress entry's year, who
        # entered it, the order), never typed.
        numbers = {
            c.field
            for c in cls.columns
            if c.kind in (NUMBER, SHARE, VOLUME)
            # the cell reader applies the digits and places; other validators are the field's
            and any(not isinstance(v, DecimalValidator) for v in c.model_field.validators)
        }
        cls.fields_of_model = {f.name for f in cls.model._meta.concrete_fields}
        cls.checked = cls.fields_of_model - numbers
        # The key: the fields of the model's unique constraint, less the plan it hangs from.
        unique = next(c for c in cls.model._meta.constraints if isinstance(c, UniqueConstraint))
        cls.key = tuple(f for f in unique.fields if f not in {"plan", "authority"})
        for col in cls.columns:
            col.names_record = col.field in cls.key  # read as a key (``cells.key_text``)

    @classmethod
    def records_of(cls, plan):
        """The sheet's records of ``plan`` (through their line, KPI or type where they hang
        from one)."""
        return cls.model._default_manager.filter(**{m.plan_path(cls.model): plan})

    def __init__(self, *, plan=None, new_plan=False, user=None, reason="", rows=(), refs=None):
        """For an import into ``plan``; with no arguments, for an export."""
        super().__init__()
        self.plan, self.new_plan, self.user, self.reason = plan, new_plan, user, reason
        self.rows = rows  # dataset row index -> the sheet's row number
        self.refs = refs  # "line" / "kpi" / "workstream" -> {lower-case key: record}
        self.kept = self.load_existing() if plan else {}  # what the sheet does not mention
        self.closed = {} if new_plan else services.closed_months(plan)  # (year, period) -> state
        # (line, year) of the lines the plan's placement moves drive (PlacementMove.drives).
        self.driven = (
            m.PlacementMove.driven(plan)
            if plan is not None and not new_plan and self.model is m.ProgressEntry
            else set()
        )
        self.present: set[str] | None = None  # the fields whose columns the sheet has
        self.key_memo: dict[tuple[str, str], str] = {}  # ``key_value``: the sheets referred
        # to are imported before this one, so what a key cell names stays the same
        self.seen: dict[tuple, tuple[int, list[str]]] = {}  # key -> (row, key cells blank)
        self.noted: list[RecordChange] = []
        self.created: list[models.Model] = []  # saved in bulk by ``flush``
        # Changed records, with their row: updated by ``flush`` once the new records they may
        # name (a line moved to a new workstream) are saved.
        self.changed: list[tuple[models.Model, int]] = []
        self.saved: list[models.Model] = []  # created or updated
        self.invalid: set[str] = set()  # keys (lower case) of rows that are wrong
        self.row_key: tuple | None = None  # the key of the row being imported
        self.key_cells: dict = {}  # its key's cells, read
        # Per column whose cells repeat: text -> what it reads as (``clean_remembered``).
        self.memos = {c.field: {} for c in self.columns if c.kind in REPEATING}

    def get_row_result_class(self):
        return _RowResult

    def get_result_class(self):
        return _Result

    def import_row(self, row, instance_loader, **kwargs):
        result = super().import_row(row, instance_loader, **kwargs)
        wrong = result.import_type in (result.IMPORT_TYPE_INVALID, result.IMPORT_TYPE_ERROR)
        if wrong and self.row_key:
            self.invalid.add(str(self.row_key[0]))
        return result

    # ---- matching

    def load_existing(self) -> dict:
        if self.plan.pk is None:
            return {}
        # With the records each one names (its line, its workstream...), read in the same
        # query: an update compares them, and reading each on its own was a query a row.
        related = {c.field for c in self.columns if isinstance(c.model_field, models.ForeignKey)}
        if self.parent:
            related.add(self.parent)
        rows = self.records_of(self.plan).select_related(*sorted(related))
        return {self.key_of_record(o): o for o in rows}

    def key_of_record(self, obj) -> tuple:
        return tuple(self.norm(self.field_key(obj, k)) for k in self.key)

    def field_key(self, obj, name):
        value = getattr(obj, name)
        if isinstance(value, models.Model):
            return getattr(value, "reference", None) or value.code
        return value

    @staticmethod
    def norm(value):
        return value.lower() if isinstance(value, str) else value

    def cell(self, col: Column, row):
        """What ``col``'s cell in ``row`` reads as (``CellError`` if it is wrong)."""
        memo = self.memos.get(col.field)
        return col.clean(row) if memo is None else col.clean_remembered(row, memo)

    def key_of_row(self, row) -> tuple | None:
        self.key_cells = {}  # read once a row: ``import_instance`` takes them from here
        try:
            for k in self.key:
                self.key_cells[k] = self.cell(self.fields[k], row)
        except (ValueError, KeyError):
            return None
        values = [
            self.default_key(k, v, row) if v is None else v for k, v in self.key_cells.items()
        ]
        if any(v is None or v is cells.CLEAR for v in values):
            return None
        return tuple(self.key_value(k, v) for k, v in zip(self.key, values, strict=True))

    def key_value(self, name: str, value):
        """A key cell as the records' keys hold it (``norm``): a record of another sheet named
        by its name or code is matched as the record, whichever the row gives."""
        col = self.fields.get(name)
        if col is None or col.kind != REF or not isinstance(value, str):
            return value.lower() if isinstance(value, str) else value
        memo = self.key_memo.get((name, value))  # a line's reference on its 48 progress rows
        if memo is None:
            memo = value
            with contextlib.suppress(ValueError):  # no such record: its row says so later
                memo = self.field_key(SimpleNamespace(ref=self.resolve(col, value)), "ref")
            self.key_memo[(name, value)] = memo = memo.lower()
        return memo

    def default_key(self, name, value, row):
        """A key an officer may leave blank, made as the template says (subclasses); asked
        only for a blank key cell (``value`` None)."""
        if value is None and name in self.fields and not self.fields[name].required:
            return self.fields[name].blank()
        return value

    def get_instance(self, instance_loader, row):
        key = self.row_key
        return self.kept.pop(key, None) if key is not None else None

    def init_instance(self, row=None):
        blank = _blank_record(self.model)
        if blank is None:
            instance = self.model()
        else:  # as ``model()`` makes it
            instance = self.model.__new__(self.model)
            instance.__dict__.update(blank)
            instance._state = ModelState()
        if not self.parent:
            instance.plan = self.plan
        return instance

    # ---- reading a row

    def before_import(self, dataset, **kwargs):
        self.present = {c.field for c in self.columns if c.column_name in dataset.headers}
        super().before_import(dataset, **kwargs)

    def before_import_row(self, row, row_number=None, **kwargs):
        self.number = row_number
        self.row_key = key = self.key_of_row(row)  # read once a row
        if key is None:
            return
        blank = [k for k in self.key if row.get(self.fields[k].column_name) in (None, "")]
        if key in self.seen:
            shown = ", ".join(
                f"{self.fields[k].header.lower()} {show(self.fields[k].clean(row))}"
                for k in self.key
                if k not in blank
            )
            other, blank_there = self.seen[key]
            # A key the other row left blank was made for it (a blank Order is the row's
            # position): said, since that row's cell shows nothing.
            made = "".join(
                f", where {self.fields[k].header} is blank and taken as {show(v, self.fields[k])}"
                for k, v in zip(self.key, key, strict=True)
                if k in blank_there
            )
            raise ValidationError(
                {
                    self.key[0]: f"Duplicate: {shown or 'the same key'} is also on row {other}"
                    f"{made}. Each must be unique."
                }
            )
        self.seen[key] = (self.rows[row_number - 1], blank)

    def import_instance(self, instance, row, **kwargs):
        creating = instance.pk is None
        before = {} if creating else {c.field: getattr(instance, c.field) for c in self.columns}
        errors = {}
        for col in self.columns:
            if col.column_name not in row and not (creating and col.field in self.key_cells):
                continue  # a column the sheet leaves out keeps the record's value
            try:
                cells_ = self.key_cells
                value = cells_[col.field] if col.field in cells_ else self.cell(col, row)
                if col.kind == REF and value not in (None, cells.CLEAR):
                    value = self.resolve(col, value)
            except ValueError as exc:
                errors[col.field] = ValidationError(str(exc))
                continue
            value = col.settle(value, creating=creating)
            if value is LEAVE:
                continue
            if not creating and col.field in self.key and _same_text(value, before[col.field]):
                continue  # matched without capitals ("r1" for R1): the record keeps its own
            if value is None:
                value = self.default_key(col.field, None, row)
                if value is None and col.required:
                    errors[col.field] = ValidationError(f"{col.header} is required.")
                    continue
                if col.field == "order" and not value:
                    value = kwargs["row_number"]  # a blank order keeps the sheet's order
            if col.kind == REF:
                _relate(instance, col.model_field, value)
            else:
                setattr(instance, col.field, value)
        if creating and "order" in self.by_field and self.by_field["order"].header not in row:
            instance.order = kwargs["row_number"]
        self.complete(instance, row, creating)
        if errors:
            raise ValidationError(errors)
        self.note(instance, before, creating, kwargs["row_number"])

    def known(self, kind: str, text: str):
        """The record of ``kind`` that ``text`` names, or None: ``ValueError`` where its own
        row is wrong (and says so) or where two records go by that name."""
        found = self.refs[kind].get(text.lower())
        if type(found) is Ambiguous:
            raise ValueError(found)
        if found is None and text.lower() in self.refs[kind]:
            raise ValueError(cells.REPORTED)
        return found

    def resolve(self, col: Column, text: str):
        """A reference to a record of another sheet (or already in the plan). Where that
        sheet could not be read (missing, or a required column missing), the reference is
        not said to be wrong on every row: the sheet's own problem is said."""
        found = self.known(col.field, text)
        if found is None and col.field in self.refs.get(UNREAD, ()):
            raise ValueError(cells.REPORTED)
        if found is None:
            where = "" if self.new_plan else " or in the plan"
            if col.field == "kpi":
                raise ValueError(
                    f"There is no KPI with the code {text!r} on the KPIs sheet{where}."
                )
            raise ValueError(
                f"There is no savings line {text!r} on the Savings lines sheet{where}."
            )
        return found

    def complete(self, instance, row, creating) -> None:
        """Fields the sheet does not give (subclasses)."""
        if creating and hasattr(instance, "entered_by_id"):
            _relate(instance, self.model._meta.get_field("entered_by"), self.user)

    def label(self, instance) -> str:
        parts = []
        month = {"year", "period"} <= set(self.key)
        for k in self.key:
            value = getattr(instance, k, None)
            if month and k in ("year", "period"):
                if k == "period":  # "P3 Jun 2017", as every page names the month
                    parts.append(fiscal.period_label(instance.year, instance.period))
            elif value not in (None, ""):
                parts.append(show(value, self.by_field.get(k)))
        return " ".join(parts)

    @functools.cached_property
    def money_columns(self) -> list:
        return [col for col in self.columns if col.kind in MONEY_KINDS]

    def note(self, instance, before, creating, number) -> None:
        row = self.rows[number - 1]
        if creating:
            # The first records' figures, for the officer to check how they were read (95
            # under a "(£k)" header is £95,000); a long sheet's rest are counted, not listed.
            figures = []
            if len(self.noted) < LISTED:
                for col in self.money_columns:
                    value = getattr(instance, col.field)
                    if value is not None:
                        figures.append(FieldChange(col.header, "", show(value, col)))
            self.noted.append(RecordChange(self.name, CREATE, self.label(instance), row, figures))
            return
        changes = []
        for col in self.columns:
            old, new = before[col.field], getattr(instance, col.field)
            if not _same(old, new):
                changes.append(FieldChange(col.header, show(old, col), show(new, col)))
        action = UPDATE if changes else SAME
        label = self.label(instance)
        self.noted.append(RecordChange(self.name, action, label, row, changes, instance.version))

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return bool(self.noted and self.noted[-1].action == SAME and not import_validation_errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        # The model's checks (``full_clean`` less uniqueness and constraints, which the import
        # checks in bulk), less the fields the cell reader already checked by that field's own
        # rules (see ``_kind_of``): a tenth of a 5,000-line import's time.
        for check, exclude in (
            (instance.clean_fields, self.checked.union(errors)),
            (instance.clean, None),
        ):
            if exclude is not None and exclude >= self.fields_of_model:
                continue  # no field left to check
            if check == instance.clean and errors:
                continue  # the record's own checks read fields already found wrong
            try:
                check(exclude) if exclude is not None else check()
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        for name, problem in dated_problems(self.plan, instance, self.columns, errors).items():
            errors[name] = [problem]
        # The model's CHECK constraints (low not above high, a target in force before its
        # date...), read here so each is said on its row and column, not by the database.
        found = constraint_problems(instance, self.by_field, errors.keys(), self.present)
        for name, problem in found.items():
            errors[name] = [problem]
        typed = services.moves_lock(instance, self.driven) if self.driven else ""
        if typed and "line" not in errors:
            errors["line"] = [typed]
        month = services.month_of(instance) if self.closed else None
        if month is not None and month[0] not in errors:
            # A new or changed figure of a month finance has submitted (or that is signed
            # off, published) is refused as the month-end page refuses it.
            field, year, period = month
            closing = services.closing_month(self.closed, year, period)
            locked = services.month_lock(instance, year, period, closing, self.user)
            if locked:
                errors[field] = [locked]
        if errors:
            raise ValidationError(errors)

    # ---- exporting

    # How the sheet's rows are ordered in an export (a model's ordering otherwise).
    export_ordering: tuple[str, ...] = ()

    def export_rows(self, plan) -> list[dict]:
        """The plan's records as the sheet's rows (field -> value), through import-export's
        ``export``: one query, plain values, no model objects."""
        names = [c.export_name for c in self.columns]
        queryset = self.records_of(plan)
        if self.export_ordering:
            queryset = queryset.order_by(*self.export_ordering)
        queryset = self.export_queryset(queryset)
        dataset = self.export(queryset.values(*names))
        fields = [c.field for c in self.columns]
        return [dict(zip(fields, row, strict=True)) for row in dataset]

    def get_field_name(self, field):
        """The column's field (import-export looks it up among all the sheet's fields)."""
        return field.attribute

    def get_export_fields(self, selected_fields=None):
        """The sheet's columns, in their order (import-export would work them out per row)."""
        return self.columns

    def export_queryset(self, queryset):
        """The records the sheet lists (subclasses narrow it)."""
        return queryset

    # ---- saving

    def save_instance(self, instance, is_create, row, **kwargs):
        self.saved.append(instance)
        if is_create:
            self.created.append(instance)  # saved in bulk by ``flush``
        else:  # saved in bulk by ``flush`` too, after the new records it may name
            self.changed.append((instance, self.rows[self.number - 1]))

    def save_m2m(self, instance, row, **kwargs):
        pass

    def _link(self, instance) -> bool:
        """Set the keys of the records ``instance`` names that were saved since it was given
        them (a workstream the lines sheet named); True if one is not saved yet."""
        unsaved = False
        for f in self.model._meta.concrete_fields:
            if f.is_relation and f.is_cached(instance):
                related = f.get_cached_value(instance)
                if related is None:
                    continue
                if related.pk is None:
                    unsaved = True
                elif getattr(instance, f.attname) != related.pk:
                    setattr(instance, f.attname, related.pk)
        return unsaved

    def flush(self) -> None:
        """Save the new records in bulk, with their history; then the changed records that
        waited for one of them."""
        for instance in self.created:
            self._link(instance)
        if self.created:
            with transaction.atomic():  # a refusal must not poison the import's transaction
                services.create_many(
                    self.model, self.created, user=self.user, reason=self.reason, plan=self.plan
                )
        # The changed records (checked on their rows by ``validate_instance``): refused if
        # someone saved one meanwhile, said on its row.
        rows = {}
        for instance, row in self.changed:
            self._link(instance)
            rows[id(instance)] = row
        try:
            services.update_many(
                self.model, [i for i, _ in self.changed], user=self.user, reason=self.reason
            )
        except Exception as exc:  # a conflict or the database: said on its row where known
            exc.row = rows.get(id(getattr(exc, "instance", None)))
            raise

    def after_import(self, dataset, result, **kwargs):
        self.flush()


def dated_problems(plan, instance, columns, skip=()) -> dict[str, str]:
    """The years and dates of ``instance``'s ``columns`` that do not fit ``plan`` (a typing
    slip such as 2107 for 2017), by field (``rules.year_problem``; within the plan's years for
    the model's ``STRICT_YEARS``). Fields in ``skip`` (already wrong) are not read."""
    strict_years = getattr(type(instance), "STRICT_YEARS", ())
    problems = {}
    for col in columns:
        if col.kind in (YEAR, DATE) and col.field not in skip:
            strict = col.field in strict_years
            problem = year_problem(plan, getattr(instance, col.field), strict=strict)
            if problem:
                problems[col.field] = problem
    return problems


def _relate(instance, field, value) -> None:
    """``instance.<field> = value`` for a record the import looked up itself: what the
    descriptor does, less its checks of the record's model and database (a twentieth of a
    96,000-row import). A record saved later in the import (pk None yet) is linked by
    ``flush``, which updates an existing row that names one after saving it."""
    instance.__dict__[field.attname] = None if value is None else value.pk
    field.set_cached_value(instance, value)


def _same_text(a, b) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def _same(a, b) -> bool:
    if isinstance(a, models.Model) or isinstance(b, models.Model):
        return a is b or (a is not None and b is not None and a.pk == b.pk)
    return a == b
