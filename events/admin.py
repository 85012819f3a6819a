"""The staff back office for lottery events: look at everything, change nothing but by a service.

The event admin is view-only on purpose. Saving an admin form writes the whole row from a copy
read earlier, which could silently undo a lock or a draw that happened in between; every state
change therefore goes through the services (here ``events.services.events.event_cancel``, the
"cancel selected events" action).
Nobody edits prizes, winners or the seed here, and nobody adds or deletes an event.

The moderation queue (``ModerationCase``) lists reported and flagged events with their
pictures; its actions (hide from the square, put back, cancel, ban the creator) call the
services too, which write the audit trail (EventLog, UserActionLog), and each is also recorded
in the admin's own history (LogEntry).
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts import services as accounts_services
from accounts.admin import ReasonForm
from accounts.models import Upload
from accounts.serializers import picture_url
from events import claim_crypto, claims, fraud, moderation
from events import conditions as entry_conditions
from events.models import (
    Claim,
    ClaimAccess,
    Entry,
    Event,
    EventLog,
    Exclusion,
    ModerationCase,
    Prize,
    PromotionRecord,
    Report,
    Substitution,
)
from events.services.events import event_cancel
from lottery_site.admin import ReadOnlyAdmin
from lottery_site.errors import ApplicationError, message_for

# A big event can have 100 000 winners; the page shows the first ones, the API has them all.
WINNERS_SHOWN = 200
# Entrants on an event's page: newest first, a page at a time (?entrants=N).
ENTRANTS_PER_PAGE = 50


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PrizeInline(_ReadOnlyInline):
    model = Prize
    fields = ("tier", "name", "quantity", "awarded", "unawarded")
    readonly_fields = fields
    ordering = ("position",)

    @admin.display(description=_("tier"))
    def tier(self, prize):
        return prize.position + 1  # stored from 0; staff count tiers from 1, as the winners list

    @admin.display(description=_("unawarded"))
    def unawarded(self, prize):
        # Before the draw nothing is awarded yet, so "unawarded" would be misleading.
        if prize.event.status != Event.Status.OPENED:
            return "—"
        return prize.quantity - prize.awarded


class EventLogInline(_ReadOnlyInline):
    model = EventLog
    fields = (
        "created_at",
        "action_label",
        "from_status",
        "to_status",
        "actor_kind",
        "actor",
        "reason",
    )
    readonly_fields = fields
    verbose_name_plural = _("state-change log")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("action"))
    def action_label(self, log):
        return log.get_action_display()  # the action is a machine word; staff read this


class SubstitutionInline(_ReadOnlyInline):
    """Every prize unit that passed to an alternate (draws.substitutions), as the proof lists it."""

    model = Substitution
    fields = (
        "created_at",
        "prize",
        "unit",
        "replaced_key",
        "reason",
        "step",
        "replacement_key",
        "actor",
    )
    readonly_fields = fields
    ordering = ("pk",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("prize", "actor")


class ExclusionInline(_ReadOnlyInline):
    """Entrants taken out before the lock (events.services.entries.entry_exclude, or a ban)."""

    model = Exclusion
    fields = ("created_at", "user_key", "reason", "flags", "actor")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class DrawDateFilter(admin.SimpleListFilter):
    """Draw dates are mostly in the future, which Django's date filter (past 7 days...) ignores."""

    title = _("draw date")
    parameter_name = "draw"

    def lookups(self, request, model_admin):
        return [
            ("today", _("today")),
            ("tomorrow", _("tomorrow")),
            ("next7", _("next 7 days")),
            ("past7", _("past 7 days")),
            ("overdue", _("overdue, not drawn")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        # Midnight in the site's time zone (Asia/Shanghai), not in UTC.
        midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        day = timedelta(days=1)
        ranges = {
            "today": (midnight, midnight + day),
            "tomorrow": (midnight + day, midnight + 2 * day),
            "next7": (now, now + 7 * day),
            "past7": (now - 7 * day, now),
        }
        if self.value() in ranges:
            start, end = ranges[self.value()]
            return queryset.filter(draw_at__gte=start, draw_at__lt=end)
        if self.value() == "overdue":
            # The sweeper should have drawn these: staff look here after an outage.
            return queryset.filter(
                draw_at__lte=now, status__in=[Event.Status.INIT, Event.Status.OPENING]
            )
        return queryset


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "title",
        "status",
        "draw_at",
        "creator",
        "participant_count",
        "created_at",
    )
    list_display_links = ("public_id", "title")
    list_filter = ("status", DrawDateFilter, "draw_mode", "visibility", "moderation")
    # Ids are matched exactly (they are pasted, and a partial id would match strangers' events).
    search_fields = ("title", "creator__nickname", "=creator__openid", "=public_id")
    search_help_text = _("Title or creator nickname (partial), creator openid or event id (exact).")
    list_select_related = ("creator",)
    ordering = ("-draw_at",)
    show_full_result_count = False
    actions = ["cancel_events"]
    inlines = [PrizeInline, SubstitutionInline, ExclusionInline, EventLogInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "title",
                    "description",
                    "creator_link",
                    "status",
                    "cancel_reason",
                    "created_at",
                )
            },
        ),
        (
            _("moderation"),
            {
                "fields": (
                    "visibility",
                    "moderation",
                    "text_unchecked",
                    "pictures",
                    "report_summary",
                )
            },
        ),
        (
            _("draw"),
            {
                "fields": (
                    "draw_mode",
                    "target_participants",
                    "lock_at",
                    "draw_at",
                    "participant_count",
                )
            },
        ),
        (
            _("fairness proof"),
            {
                "fields": (
                    "seed_commitment",
                    "entrant_count",
                    "entrants_digest",
                    "drawn_at",
                    "seed_revealed",
                )
            },
        ),
        (_("results"), {"fields": ("winners", "unawarded_prizes", "claim_list")}),
        (_("entrants"), {"fields": ("entrant_list",)}),
        (
            _("entry conditions and anti-fraud"),
            {"fields": ("condition_list", "fraud_flags", "exclusion_summary")},
        ),
    )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._entrants_page = request.GET.get("entrants", "1")
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        return [field for _name, options in self.fieldsets for field in options["fields"]]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("creator")

    def has_add_permission(self, request):
        return False  # events are created by their creators, through the API

    def has_change_permission(self, request, obj=None):
        return False  # view-only: see the module docstring

    def has_delete_permission(self, request, obj=None):
        return False  # entrants are owed a result or a cancellation notice, never a vanishing

    def has_cancel_permission(self, request):
        return request.user.has_perm("events.change_event")

    # --- read-only displays -----------------------------------------------------------------

    @admin.display(description=_("creator"))
    def creator_link(self, event):
        creator = event.creator
        return format_html("{} ({}, openid {})", creator, creator.public_id, creator.openid or "—")

    @admin.display(description=_("claims"))
    def claim_list(self, event):
        """How many winners' claims there are, linking to them (the claims admin decides what
        of their personal data this staff member may read)."""
        count = Claim.objects.filter(event_id=event.pk).count()
        if not count:
            return "—"
        url = reverse("admin:events_claim_changelist") + "?" + urlencode({"q": event.public_id})
        label = ngettext("%(count)d claim", "%(count)d claims", count) % {"count": count}
        return format_html('<a href="{}" class="event-claims">{}</a>', url, label)

    @admin.display(description=_("seed"))
    def seed_revealed(self, event):
        # Revealing the seed before the draw would let anyone compute the winners in advance.
        if event.status != Event.Status.OPENED:
            return gettext("secret until the draw")
        return bytes(event.seed).hex()

    @admin.display(description=_("winners"))
    def winners(self, event):
        if event.status != Event.Status.OPENED:
            return "—"
        entries = (
            Entry.objects.filter(event_id=event.pk, prize__isnull=False)
            .select_related("user", "prize")
            .order_by("prize_rank")
        )
        total = entries.count()
        if not total:
            return gettext("no winners")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (entry.prize_rank + 1, entry.prize.name, entry.user, entry.user_key)
                for entry in entries[:WINNERS_SHOWN]
            ),
        )
        more = ""
        if total > WINNERS_SHOWN:
            more = gettext("%(shown)d of %(total)d winners shown.") % {
                "shown": WINNERS_SHOWN,
                "total": total,
            }
        return format_html(
            '<table class="winners"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "</tr></thead><tbody>{}</tbody></table><p>{}</p>",
            gettext("draw rank"),
            gettext("prize"),
            gettext("user"),
            gettext("entrant key"),
            rows,
            more,
        )

    @admin.display(description=_("pictures"))
    def pictures(self, event):
        return _thumbnails(_event_pictures(event))

    @admin.display(description=_("reports"))
    def report_summary(self, event):
        counts = (
            Report.objects.filter(event_id=event.pk)
            .values_list("reason")
            .annotate(n=Count("pk"))
            .order_by("-n")
        )
        labels = dict(Report.Reason.choices)
        return format_html_join(", ", "{} × {}", ((labels[r], n) for r, n in counts)) or "—"

    @admin.display(description=_("entrants"))
    def entrant_list(self, event):
        """Who joined, newest first, a page at a time: staff look for fake accounts (new
        accounts, no nickname, many joins at once)."""
        raw = str(getattr(self, "_entrants_page", "1"))
        page = max(int(raw), 1) if raw.isdigit() else 1
        entries = Entry.objects.filter(event_id=event.pk).select_related("user")
        total = entries.count()
        if not total:
            return "—"
        start = (page - 1) * ENTRANTS_PER_PAGE
        shown = entries.order_by("-created_at", "-pk")[start : start + ENTRANTS_PER_PAGE]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    entry.user,
                    entry.user.public_id,
                    timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    timezone.localtime(entry.user.created_at).strftime("%Y-%m-%d %H:%M"),
                    gettext("yes") if entry.user.is_active else gettext("no"),
                )
                for entry in shown
            ),
        )
        pages = (total + ENTRANTS_PER_PAGE - 1) // ENTRANTS_PER_PAGE
        links = format_html_join(
            " ",
            '<a href="?entrants={}">{}</a>',
            ((n, n) for n in range(1, pages + 1) if n != page),
        )
        return format_html(
            '<table class="entrants"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table><p>{} {}</p>",
            gettext("user"),
            gettext("public id"),
            gettext("joined at"),
            gettext("account created"),
            gettext("active"),
            rows,
            gettext("Page %(page)d of %(pages)d, %(total)d entrants.")
            % {"page": page, "pages": pages, "total": total},
            links,
        )

    @admin.display(description=_("entry conditions"))
    def condition_list(self, event):
        shown = entry_conditions.public(event.entry_conditions)
        if not shown:
            return "—"
        return format_html_join(
            ", ",
            "{} {}",
            (
                (item["kind"], {k: v for k, v in item.items() if k != "kind"} or "")
                for item in shown
            ),
        )

    @admin.display(description=_("flagged entrants"))
    def fraud_flags(self, event):
        """What the creator sees (events.fraud): reason codes only; each entrant links to the
        user admin, where staff can ban (a ban takes their entries out of open events)."""
        flags = fraud.event_flags(event=event)
        if not flags:
            return "—"
        users = reverse("admin:accounts_user_changelist")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}?{}">{}</a></td><td>{}</td><td>{}</td></tr>',
            (
                (
                    users,
                    urlencode({"q": flag.user_key}),
                    flag.user_key,
                    timezone.localtime(flag.joined_at).strftime("%Y-%m-%d %H:%M:%S"),
                    ", ".join(flag.reasons),
                )
                for flag in flags[:ENTRANTS_PER_PAGE]
            ),
        )
        return format_html(
            '<table class="fraud-flags"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr>'
            "</thead><tbody>{}</tbody></table><p>{}</p>",
            gettext("entrant key"),
            gettext("joined at"),
            gettext("reasons"),
            rows,
            gettext("%(count)d flagged entrants.") % {"count": len(flags)},
        )

    @admin.display(description=_("exclusions"))
    def exclusion_summary(self, event):
        counts = fraud.exclusion_counts(event_pk=event.pk)
        return (
            format_html_join(", ", "{} × {}", ((row["reason"], row["count"]) for row in counts))
            or "—"
        )

    @admin.display(description=_("unawarded prizes"))
    def unawarded_prizes(self, event):
        if event.status != Event.Status.OPENED:
            return "—"
        left = [
            (prize.name, prize.quantity - prize.awarded)
            for prize in Prize.objects.filter(event_id=event.pk).order_by("position")
            if prize.quantity > prize.awarded
        ]
        if not left:
            return gettext("none: every prize was awarded")
        return format_html_join(", ", "{} × {}", left)

    # --- the one action -------------------------------------------------------------------

    def _ask_reason(self, request, queryset, *, action, title, intro):
        """(the reason form to show, None) or, once posted with a valid reason, (None, reason)."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            return None, form.cleaned_data["reason"]
        return render(
            request,
            "admin/reason_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "intro": intro,
                "objects": queryset,
                "form": form,
                "action": action,
                "checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        ), ""

    @admin.action(description=_("Cancel selected events"), permissions=["cancel"])
    def cancel_events(self, request, queryset):
        asked, reason = self._ask_reason(
            request,
            queryset,
            action="cancel_events",
            title=_("Cancel selected events"),
            intro=_(
                "Entrants will be told that the event was canceled. "
                "Events already drawn or canceled are left as they are."
            ),
        )
        if asked is not None:
            return asked
        canceled = 0
        for event in queryset:
            try:
                # The service decides under the row lock: a cancel racing the draw loses cleanly.
                # After the lock it is only asked: settled, publicly, once the round is out.
                result = event_cancel(
                    event=event,
                    actor=request.user,
                    now=timezone.now(),
                    reason=reason,
                    by_staff=True,
                )
            except ApplicationError as refusal:
                self.message_user(
                    request,
                    gettext("“%(event)s” was not canceled: %(why)s")
                    % {"event": event, "why": message_for(refusal.kind)},
                    messages.WARNING,
                )
            else:
                canceled += 1
                self.log_change(request, event, f"canceled: {reason}")
                if result.status != Event.Status.CANCELED:
                    self.message_user(
                        request,
                        gettext(
                            "“%(event)s” is locked: it will be canceled once its beacon round "
                            "is out, and its proof will show who would have won."
                        )
                        % {"event": event},
                        messages.INFO,
                    )
        refused = len(queryset) - canceled
        self.message_user(
            request,
            gettext("%(canceled)d events canceled, %(refused)d refused.")
            % {"canceled": canceled, "refused": refused},
            messages.SUCCESS if not refused else messages.WARNING,
        )
        return None


def _event_pictures(event: Event) -> list[Upload]:
    uploads = [event.cover] if event.cover_id else []
    prizes = Prize.objects.filter(event_id=event.pk, image__isnull=False).select_related("image")
    return uploads + [prize.image for prize in prizes.order_by("position")]


def _thumbnails(uploads: list[Upload]):
    """Small pictures with WeChat's verdict; a rejected one shows as the placeholder."""
    if not uploads:
        return "—"
    return format_html_join(
        " ",
        '<span class="thumb" title="{}"><img src="{}" alt="{}" '
        'style="max-width:80px;max-height:80px;vertical-align:middle"> {}</span>',
        (
            (
                upload.get_moderation_display(),
                picture_url(upload),
                upload.public_id,
                upload.get_moderation_display(),
            )
            for upload in uploads
        ),
    )


class ReportInline(_ReadOnlyInline):
    model = Report
    fields = ("created_at", "reason", "user")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class ModerationFilter(admin.SimpleListFilter):
    title = _("why listed")
    parameter_name = "why"

    def lookups(self, request, model_admin):
        return [
            ("reported", _("reported")),
            ("review", _("pending review")),
            ("hidden", _("hidden by staff")),
            ("picture", _("picture rejected")),
        ]

    def queryset(self, request, queryset):
        return {
            "reported": queryset.filter(report_count__gt=0),
            "review": queryset.filter(moderation=Event.Moderation.REVIEW),
            "hidden": queryset.filter(moderation=Event.Moderation.HIDDEN),
            "picture": queryset.filter(_REJECTED_PICTURE),
        }.get(self.value(), queryset)


_REJECTED = Upload.Moderation.REJECTED
_REJECTED_PICTURE = Q(cover__moderation=_REJECTED) | Q(prizes__image__moderation=_REJECTED)


@admin.register(ModerationCase)
class ModerationCaseAdmin(EventAdmin):
    """Reported and flagged events, most reported first; every action goes through a service."""

    list_display = (
        "public_id",
        "title",
        "moderation",
        "reports",
        "thumbnails",
        "status",
        "visibility",
        "creator",
        "created_at",
    )
    list_filter = (ModerationFilter, "moderation", "status", "visibility")
    list_select_related = ("creator", "cover")
    ordering = ("-created_at",)
    actions = ["hide_from_square", "restore_to_square", "cancel_events", "ban_creators"]
    inlines = [ReportInline, PrizeInline, EventLogInline]

    def get_queryset(self, request):
        flagged = (
            Q(report_count__gt=0) | ~Q(moderation=Event.Moderation.OK) | Q(text_unchecked=True)
        )
        # A subquery, not a join and Count: the filter stays a WHERE, next to the OR on pictures.
        reports = (
            Report.objects.filter(event_id=OuterRef("pk"))
            .values("event_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        count = Coalesce(Subquery(reports, output_field=IntegerField()), Value(0))
        return (
            Event.objects.select_related("creator", "cover")
            .annotate(report_count=count)
            .filter(flagged | _REJECTED_PICTURE)
            .distinct()
        )

    def get_ordering(self, request):
        return ["-report_count", "-created_at"]  # most reported first

    @admin.display(description=_("reports"), ordering="report_count")
    def reports(self, event):
        return event.report_count

    @admin.display(description=_("pictures"))
    def thumbnails(self, event):
        return _thumbnails(_event_pictures(event))

    def _moderate(self, request, queryset, *, to: str, done_message: str):
        changed = 0
        for event in queryset:
            if moderation.event_moderate(
                event=event, actor=request.user, to=to, now=timezone.now()
            ):
                changed += 1
                self.log_change(request, event, f"moderation: {to}")
        self.message_user(request, done_message % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Hide selected events from the square"), permissions=["cancel"])
    def hide_from_square(self, request, queryset):
        self._moderate(
            request,
            queryset,
            to=Event.Moderation.HIDDEN,
            done_message=gettext("%(count)d events hidden from the square."),
        )

    @admin.action(description=_("Put selected events back on the square"), permissions=["cancel"])
    def restore_to_square(self, request, queryset):
        self._moderate(
            request,
            queryset,
            to=Event.Moderation.OK,
            done_message=gettext("%(count)d events back on the square."),
        )

    @admin.action(description=_("Ban the creators of selected events"), permissions=["ban"])
    def ban_creators(self, request, queryset):
        asked, reason = self._ask_reason(
            request,
            queryset,
            action="ban_creators",
            title=_("Ban the creators of selected events"),
            intro=_(
                "The creators' accounts are deactivated: they can no longer sign in, create "
                "or join events. Their events stay as they are; cancel them separately."
            ),
        )
        if asked is not None:
            return asked
        banned = 0
        for creator in {event.creator for event in queryset}:
            if accounts_services.user_deactivate(user=creator, actor=request.user, reason=reason):
                banned += 1
                self.log_change(request, creator, f"banned: {reason}")
        self.message_user(
            request, gettext("%(count)d users banned.") % {"count": banned}, messages.SUCCESS
        )
        return None

    def has_ban_permission(self, request):
        return request.user.has_perm("accounts.change_user")


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    """Winners' claims: view-only. Addresses and phones show decrypted only to staff holding
    ``view_claim_personal_data`` (each such view audited as a ``ClaimAccess``), masked otherwise.
    """

    list_display = ("public_id", "event", "status", "deadline", "claimed_at", "shipped_at")
    list_filter = ("status",)
    search_fields = ("=public_id", "=event__public_id")
    list_select_related = ("event",)
    ordering = ("-created_at",)
    actions = ["export_csv"]
    fields = (
        "public_id",
        "event",
        "entry",
        "status",
        "deadline",
        "personal_data",
        "carrier",
        "tracking_number",
        "claimed_at",
        "shipped_at",
        "reminded_at",
        "erased_at",
    )
    readonly_fields = fields

    @admin.display(description=_("address and phone"))
    def personal_data(self, claim):
        if not claim.details:
            return "—"
        viewer = getattr(claim, "viewer", None)
        if viewer is None or not viewer.has_perm(claims.PERSONAL_DATA_PERMISSION):
            return "***"
        try:
            address = claim_crypto.decrypt(claim.details)
        except ApplicationError:
            return gettext("unavailable: no claim encryption key configured")
        ClaimAccess.objects.create(
            claim=claim, actor=viewer, reason="admin", created_at=timezone.now()
        )
        return " ".join(address.get(name, "") for name in claims.ADDRESS_FIELDS)

    def get_object(self, request, object_id, from_field=None):
        claim = super().get_object(request, object_id, from_field)
        if claim is not None:
            # On the object, not on this admin (one instance serves every thread).
            claim.viewer = request.user
        return claim

    @admin.action(description=_("Export the winners of these claims' events as CSV"))
    def export_csv(self, request, queryset):
        decrypt = request.user.has_perm(claims.PERSONAL_DATA_PERMISSION)
        rows = []
        for event in Event.objects.filter(pk__in=queryset.values("event_id")).order_by("pk"):
            rows += claims.winner_rows(
                event=event, reader=request.user, now=timezone.now(), reason="admin_csv",
                decrypt=decrypt,
            )  # fmt: skip
        response = HttpResponse(claims.claims_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="claims.csv"'
        return response


@admin.register(PromotionRecord)
class PromotionRecordAdmin(ReadOnlyAdmin):
    """Prizes won by people who deleted their accounts, kept pseudonymised for two years
    (docs/privacy.md); the retention sweep deletes them. Nobody edits them."""

    list_display = ("drawn_at", "event", "prize", "winner_key", "claim_state", "keep_until")
    list_select_related = ("event", "prize")
    search_fields = ("=winner_key", "=winner_ref", "=event__public_id")
    search_help_text = _("Winner id, pseudonym or event id (exact).")
    ordering = ("-drawn_at",)


@admin.register(ClaimAccess)
class ClaimAccessAdmin(ReadOnlyAdmin):
    """The audit log of personal-data reads: append-only, nobody edits or deletes it."""

    list_display = ("created_at", "actor", "claim", "reason")
    list_select_related = ("actor", "claim")
    ordering = ("-created_at",)
