from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import User, UserActionLog


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class UserActionLogInline(admin.TabularInline):
    model = UserActionLog
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


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
    )
    readonly_fields = (
        "public_id",
        "openid",
        "unionid",
        "is_active",
        "deactivated_reason",
        "created_at",
    )
    inlines = [UserActionLogInline]
    actions = ["deactivate_users", "reactivate_users"]

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
