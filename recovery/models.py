from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from simple_history.models import HistoricalRecords


class AuthorityManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Authority(models.Model):
    """A council. Every plan and every user belongs to one."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    child_population = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Children aged 0-17, for rates per 10,000.",
    )
    child_population_source = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    objects = AuthorityManager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "authorities"

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    @property
    def population_source(self) -> str:
        """Where the child population comes from, to stand in brackets after it: a number
        worked out where no paper prints one is never shown as fact."""
        return self.child_population_source.strip().rstrip(".")


class User(AbstractUser):
    """A council officer or member. Their authority bounds everything they can see."""

    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    granted_authorities = models.ManyToManyField(
        Authority,
        blank=True,
        related_name="granted_users",
        help_text="Other authorities whose plans this user may read (never change), as "
        "granted by an administrator.",
    )

    objects = UserManager()

    def __str__(self):
        return self.get_full_name() or self.username
