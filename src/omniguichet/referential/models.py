"""The referential: caisses, insured persons, employers, professionals, contact points, consents, staff users."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from omniguichet.core.text import fold
from omniguichet.referential import validators
from omniguichet.referential.fields import InseeCodeField, NirField, PostcodeField, RppsField, SiretField


class Caisse(models.Model):
    """A local fund (CPAM), identified by its 3-character code ("011", "2A1", "751")."""

    code = models.CharField(_("code"), max_length=3, primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    department = models.CharField(_("department"), max_length=3)
    department_name = models.CharField(_("department name"), max_length=60)
    city = models.CharField(_("city"), max_length=60)
    # The local time of its opening hours and public holidays (docs/deadlines.md).
    time_zone = models.CharField(
        _("time zone"), max_length=40, default="Europe/Paris", validators=[validators.validate_time_zone]
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("caisse")
        verbose_name_plural = _("caisses")
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9][0-9AB][0-9]$"), name="caisse_code_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    RECEPTION_AGENT = "reception_agent", _("reception agent")
    BACKOFFICE_AGENT = "backoffice_agent", _("back-office agent")
    PHONE_AGENT = "phone_agent", _("phone agent")
    MANAGER = "manager", _("manager")
    NATIONAL_SUPERVISOR = "national_supervisor", _("national supervisor")


LOCAL_ROLES = [Role.RECEPTION_AGENT, Role.BACKOFFICE_AGENT, Role.PHONE_AGENT, Role.MANAGER]
NATIONAL_ROLES = [Role.NATIONAL_SUPERVISOR]


class User(AbstractUser):
    """A login. Staff users carry a role; every local role is attached to one caisse."""

    caisse = models.ForeignKey(
        Caisse,
        verbose_name=_("caisse"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)

    objects: ClassVar[UserManager[User]] = UserManager()  # type: ignore[assignment]

    class Meta(AbstractUser.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(role="") | Q(role__in=Role.values), name="user_role_known"),
            models.CheckConstraint(
                condition=~Q(role__in=LOCAL_ROLES) | Q(caisse__isnull=False), name="local_role_has_caisse"
            ),
        ]

    @property
    def is_national(self) -> bool:
        return self.role in NATIONAL_ROLES


class PersonStatus(models.TextChoices):
    EMPLOYEE = "employee", _("employee")
    SELF_EMPLOYED = "self_employed", _("self-employed")
    RETIRED = "retired", _("retired")
    STUDENT = "student", _("student")
    UNEMPLOYED = "unemployed", _("unemployed")
    OTHER = "other", _("other")


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Person(models.Model):
    """An insured person (assuré). Dependants (children) are attached to a parent's record."""

    nir = NirField(_("NIR"), max_length=15, unique=True)
    given_names = models.CharField(_("given names"), max_length=150)
    family_name = models.CharField(_("family name"), max_length=100)
    usage_name = models.CharField(_("usage name"), max_length=100, blank=True)
    # Folded copies (no accents, lower case) so that searches by name can use an index.
    family_name_folded = models.CharField(max_length=100, editable=False)
    usage_name_folded = models.CharField(max_length=100, editable=False, blank=True)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_place = InseeCodeField(_("birth place (INSEE code)"), max_length=5)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postcode = PostcodeField(_("postcode"), max_length=5, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    caisse = models.ForeignKey(
        Caisse, verbose_name=_("caisse of affiliation"), on_delete=models.PROTECT, related_name="persons"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PersonStatus.choices, default=PersonStatus.OTHER
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent (for a dependant)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="beneficiaries",
    )
    rights_from = models.DateField(_("rights open from"), null=True, blank=True)
    rights_to = models.DateField(_("rights open to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("insured person")
        verbose_name_plural = _("insured persons")
        indexes = [
            models.Index(fields=["family_name_folded", "birth_date"], name="person_name_birth_idx"),
            models.Index(fields=["usage_name_folded", "birth_date"], name="person_usage_birth_idx"),
            models.Index(fields=["birth_date"], name="person_birth_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(nir__regex=r"^[0-9]{6}[0-9AB][0-9]{8}$"), name="person_nir_format"
            ),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="person_sex_known"),
            models.CheckConstraint(condition=Q(status__in=PersonStatus.values), name="person_status_known"),
            models.CheckConstraint(
                condition=Q(rights_to__isnull=True)
                | Q(rights_from__isnull=True)
                | Q(rights_to__gte=F("rights_from")),
                name="person_rights_period_ordered",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="person_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.birth_date:%d/%m/%Y})"

    def save(self, *args, **kwargs) -> None:
        self.family_name_folded = fold(self.family_name)
        self.usage_name_folded = fold(self.usage_name)
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None) -> None:
        # Remembered for clean(): a field left out (a form refused it already) is not compared with the others.
        self._clean_exclude = set(exclude or ())
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        """The rules spanning several fields (the NIR against the sex, birth date and place; the rights period),
        the same function as the service, so that the admin refuses what the API refuses."""
        super().clean()
        excluded: set[str] = getattr(self, "_clean_exclude", set())
        compared = {"nir", "sex", "birth_date", "birth_place"}
        errors = validators.person_errors(
            nir=None if compared & excluded else self.nir,
            sex=self.sex,
            birth_date=self.birth_date,
            birth_place=self.birth_place,
            rights_from=self.rights_from,
            rights_to=self.rights_to,
        )
        errors = {name: reason for name, reason in errors.items() if name not in excluded}
        if errors:
            raise ValidationError(errors)

    @property
    def display_name(self) -> str:
        name = self.usage_name or self.family_name
        return f"{name.upper()} {self.given_names}"


class Employer(models.Model):
    siret = SiretField(_("SIRET"), max_length=14, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)
    caisse = models.ForeignKey(
        Caisse, verbose_name=_("caisse"), on_delete=models.PROTECT, related_name="employers"
    )
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postcode = PostcodeField(_("postcode"), max_length=5, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        constraints = [
            models.CheckConstraint(condition=Q(siret__regex=r"^[0-9]{14}$"), name="employer_siret_format"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.siret})"

    def save(self, *args, **kwargs) -> None:
        self.name_folded = fold(self.name)
        super().save(*args, **kwargs)


class Profession(models.TextChoices):
    GENERAL_PRACTITIONER = "general_practitioner", _("general practitioner")
    SPECIALIST = "specialist", _("specialist physician")
    DENTIST = "dentist", _("dentist")
    MIDWIFE = "midwife", _("midwife")
    PHARMACIST = "pharmacist", _("pharmacist")
    NURSE = "nurse", _("nurse")
    PHYSIOTHERAPIST = "physiotherapist", _("physiotherapist")
    OTHER = "other", _("other")


class Professional(models.Model):
    rpps = RppsField(_("RPPS"), max_length=11, unique=True)
    given_names = models.CharField(_("given names"), max_length=150)
    family_name = models.CharField(_("family name"), max_length=100)
    family_name_folded = models.CharField(max_length=100, editable=False, db_index=True)
    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices)
    caisse = models.ForeignKey(
        Caisse, verbose_name=_("caisse"), on_delete=models.PROTECT, related_name="professionals"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("health professional")
        verbose_name_plural = _("health professionals")
        constraints = [
            models.CheckConstraint(condition=Q(rpps__regex=r"^[0-9]{11}$"), name="professional_rpps_format"),
            models.CheckConstraint(condition=Q(profession__in=Profession.values), name="professional_known"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name.upper()} {self.given_names} ({self.rpps})"

    def save(self, *args, **kwargs) -> None:
        self.family_name_folded = fold(self.family_name)
        super().save(*args, **kwargs)


class ContactPointKind(models.TextChoices):
    EMAIL = "email", _("e-mail")
    MOBILE = "mobile", _("mobile phone")


class ContactPoint(models.Model):
    """An e-mail address or a mobile number of a person, normalised (lower-case e-mail, E.164 phone).

    A verified point belongs to at most one person (and so one account); an unverified one may be shared,
    as families share phones. The database enforces it with a partial unique index.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=8, choices=ContactPointKind.choices)
    value = models.CharField(_("value"), max_length=254)
    verified = models.BooleanField(_("verified"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        indexes = [models.Index(fields=["kind", "value"], name="contact_point_lookup_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], condition=Q(verified=True), name="verified_contact_point_unique"
            ),
            models.UniqueConstraint(fields=["person", "kind", "value"], name="contact_point_once_per_person"),
            models.CheckConstraint(
                condition=Q(kind__in=ContactPointKind.values), name="contact_point_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(verified=False) | Q(verified_at__isnull=False),
                name="verified_contact_point_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    def clean(self) -> None:
        """The value is checked and normalised according to its kind, as the service does: an e-mail
        lower-cased, a mobile in E.164."""
        super().clean()
        check = {
            ContactPointKind.EMAIL: validators.validate_email_address,
            ContactPointKind.MOBILE: validators.validate_mobile_phone,
        }.get(self.kind)  # type: ignore[call-overload]
        if check is None or not self.value:
            return  # the kind's own choices, or the value's "required", say why
        try:
            self.value = check(self.value)
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from None


class PreferredChannel(models.TextChoices):
    ACCOUNT = "account", _("online account")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")
    PAPER = "paper", _("paper letter")


class ChannelPreference(models.Model):
    """How a person wants to be reached. A person without a row has the defaults below."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="channel_preference")
    sms_allowed = models.BooleanField(_("SMS allowed"), default=True)
    email_allowed = models.BooleanField(_("e-mail allowed"), default=True)
    paper_allowed = models.BooleanField(_("paper letters allowed"), default=True)
    e_documents = models.BooleanField(_("e-documents instead of paper letters"), default=False)
    preferred_channel = models.CharField(
        _("preferred channel"),
        max_length=8,
        choices=PreferredChannel.choices,
        default=PreferredChannel.ACCOUNT,
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(preferred_channel__in=PreferredChannel.values), name="preferred_channel_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.get_preferred_channel_display()}"


class ConsentPurpose(models.TextChoices):
    PROACTIVE_MESSAGES = "proactive_messages", _("messages about my files")
    CAMPAIGNS = "campaigns", _("prevention and information campaigns")
    SURVEYS = "surveys", _("satisfaction surveys")


class Consent(models.Model):
    """A person's consent for one purpose; the latest decision is kept, with when and through which channel."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    channel = models.CharField(_("channel"), max_length=16)
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["person", "purpose"], name="consent_once_per_purpose"),
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {'oui' if self.granted else 'non'}"


# --- calendars (docs/deadlines.md) -------------------------------------------------------------------------------
class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningPeriod(models.Model):
    """One opening period of a caisse on a weekday, in the caisse's local time (several a day: morning and
    afternoon). Working hours and working days count inside these periods, public holidays and closures aside."""

    caisse = models.ForeignKey(Caisse, on_delete=models.CASCADE, related_name="opening_periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens at"))
    closes = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["caisse", "weekday", "opens"]
        verbose_name = _("opening period")
        verbose_name_plural = _("opening periods")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_weekday_known"),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="opening_opens_before_closes"),
            models.UniqueConstraint(fields=["caisse", "weekday", "opens"], name="opening_period_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValidationError({"closes": _("must be later than the opening time")})

    def overlapping(self) -> OpeningPeriod | None:
        """Another stored period of the same caisse and day that overlaps this one."""
        if self.caisse_id is None or self.weekday is None or self.opens is None or self.closes is None:
            return None
        return (
            OpeningPeriod.objects.filter(
                caisse_id=self.caisse_id, weekday=self.weekday, opens__lt=self.closes, closes__gt=self.opens
            )
            .exclude(pk=self.pk)
            .first()
        )


class Closure(models.Model):
    """A day a caisse is closed besides its department's public holidays (a bridge day, a move, a strike...)."""

    caisse = models.ForeignKey(Caisse, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("date"))
    label = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        ordering = ["caisse", "date"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [models.UniqueConstraint(fields=["caisse", "date"], name="closure_unique")]

    def __str__(self) -> str:
        return f"{self.caisse_id} {self.date:%Y-%m-%d}"
