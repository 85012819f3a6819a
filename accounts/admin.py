from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from accounts import services
from accounts.authentication import user_access_changed
from accounts.models import PrivacyConsent, User, UserActionLog
from lottery_site.errors import ApplicationError, message_for

# simplejwt's token blacklist shows in the admin with these labels, which its own zh_Hans
# catalogue lacks; naming them here keeps them in ours (locale/) through makemessages.
SIMPLEJWT_LABELS = (
    gettext_noop("Token Blacklist"),
    gettext_noop("Outstanding Token"),
    gettext_noop("Outstanding Tokens"),
    gettext_noop("Blacklisted Token"),
    gettext_noop("Blacklisted Tokens"),
)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class UserActionLogInline(admin.TabularInline):
    model = UserActionLog
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "actor_name", "reason")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # append-only

    @admin.display(description=_("actor"))
    def actor_name(self, log):
        return log.actor or "—"


@receiver(pre_save, sender=LogEntry)
def _history_names_users_by_id(sender, instance: LogEntry, **kwargs) -> None:
    """The admin's history ("banned: fraud" on a user) keeps ``str(user)``, the nickname, for
    ever; it is a log, and logs hold ids: store the public id (or a staff username) instead.
    Users are never deleted in the admin, so the bulk path of log_deletions does not meet them.
    """
    if instance.content_type_id != ContentType.objects.get_for_model(User).pk:
        return
    user = User.objects.filter(pk=instance.object_id).only("public_id", "username").first()
    if user is not None:
        instance.object_repr = user.username or user.public_id


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("public_id", "nickname", "openid", "is_active", "is_staff", "created_at")
    list_filter = ("is_active", "is_staff")
    search_fields = ("nickname", "openid", "public_id", "username")
    # session_key is deliberately absent from every list, form and search.
    fields = (
        "public_id",
        "username",
        "nickname",
        "avatar_url",
        "openid",
        "unionid",
        "is_active",
        "deactivated_reason",
        "is_staff",
        "is_superuser",
        "groups",
        "created_at",
        "privacy_version",
        "privacy_consents",
        "show_on_public_lists",
        "deleted_at",
        "erased_at",
    )
    readonly_fields = (
        "public_id",
        "openid",
        "unionid",
        "is_active",
        "deactivated_reason",
        "created_at",
        "privacy_version",
        "privacy_consents",
        "show_on_public_lists",
        "deleted_at",
        "erased_at",
    )
    inlines = [UserActionLogInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # WeChat avatars
    search_help_text = _("Nickname, openid, user id or staff username.")
    actions = ["deactivate_users", "reactivate_users", "delete_accounts"]

    @admin.display(description=_("privacy policy acceptances"))
    def privacy_consents(self, user):
        """Append-only: every version accepted, newest first."""
        rows = PrivacyConsent.objects.filter(user_id=user.pk)
        return (
            format_html_join(
                ", ",
                "{} ({}, {})",
                (
                    (c.version, c.get_source_display(), timezone.localtime(c.accepted_at))
                    for c in rows
                ),
            )
            or "—"
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Ban (deactivate) instead: the API revokes tokens by is_active, within the ban bound;
        # a deleted user's token would stay valid until it expires (accounts.authentication).
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Write only what staff changed: a full save would write back is_active and session_key
        # as read a moment ago, undoing a ban or a login that happened in between.
        columns = {field.name for field in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in columns]
        if changed:
            obj.save(update_fields=changed)
        # A ban or unban written here acts at once in this process (others: within the bound).
        user_access_changed(obj.pk)
        return None

    @admin.action(description=_("Deactivate (ban) selected users"))
    def deactivate_users(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return render(
                request,
                "admin/reason_action.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Deactivate (ban) selected users"),
                    "objects": queryset,
                    "form": form,
                    "action": "deactivate_users",
                    "checkbox_name": ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        done = sum(
            services.user_deactivate(user=u, actor=request.user, reason=form.cleaned_data["reason"])
            for u in queryset
        )
        self.message_user(request, _("%d users deactivated.") % done, messages.SUCCESS)
        return None

    @admin.action(description=_("Reactivate selected users"))
    def reactivate_users(self, request, queryset):
        done = sum(services.user_reactivate(user=u, actor=request.user) for u in queryset)
        self.message_user(request, _("%d users reactivated.") % done, messages.SUCCESS)

    @admin.action(description=_("Delete accounts and erase their personal data"))
    def delete_accounts(self, request, queryset):
        """What DELETE /me does, for a person who asked staff (a banned user cannot call it)."""
        done = 0
        for user in queryset:
            try:
                done += services.user_delete(user=user, now=timezone.now())
            except ApplicationError as refusal:
                self.message_user(request, f"{user}: {message_for(refusal.kind)}", messages.ERROR)
        self.message_user(request, _("%d accounts deleted.") % done, messages.SUCCESS)
