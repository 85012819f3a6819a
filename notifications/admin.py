"""Back office for WeChat messages: counts per event, failures with their errcode, retry."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from lottery_site.admin import ReadOnlyAdmin
from lottery_site.publish import publish_on_commit
from notifications import services, tasks
from notifications.models import Delivery, EventDeliveries

State = Delivery.State


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "event", "user", "kind", "state", "errcode", "errmsg", "attempts", "finished_at",
    )  # fmt: skip
    list_filter = ("state", "kind", "errcode")
    search_fields = ("event__public_id", "event__title", "user__public_id", "user__openid")
    list_select_related = ("event", "user")
    ordering = ("-pk",)
    show_full_result_count = False  # a count(*) over millions of rows on every page is slow
    actions = ["retry_failed"]

    def has_retry_permission(self, request) -> bool:
        # Rows are read-only in forms, but staff allowed to change deliveries may resend them.
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(description=_("重试所选的失败消息"), permissions=["retry"])
    def retry_failed(self, request, queryset):
        ids = list(queryset.filter(state=State.FAILED).values_list("pk", flat=True))
        batches = services.deliveries_retry(delivery_ids=ids, now=timezone.now())
        for batch in batches:
            publish_on_commit(tasks.send_batch, batch)  # lost if Redis is down: swept
        count = sum(len(batch) for batch in batches)
        self.message_user(
            request, _("已重新排队 %(n)d 条失败消息。") % {"n": count}, messages.SUCCESS
        )


def _count(state: str) -> Count:
    return Count("deliveries", filter=Q(deliveries__state=state))


@admin.register(EventDeliveries)
class EventDeliveriesAdmin(ReadOnlyAdmin):
    list_display = (
        "title", "public_id", "status", "pending", "retrying", "sent", "refused", "failed",
        "skipped", "failures",
    )  # fmt: skip
    list_filter = ("status",)
    search_fields = ("public_id", "title")
    ordering = ("-draw_at",)
    show_full_result_count = False

    def get_queryset(self, request):
        counts = {state: _count(state) for state in State.values}
        counts["pending"] = Count(
            "deliveries", filter=Q(deliveries__state__in=[State.PENDING, State.SENDING])
        )
        return super().get_queryset(request).annotate(**counts)

    @admin.display(description=_("待发送"), ordering="pending")
    def pending(self, obj):
        return obj.pending

    @admin.display(description=_("重试中"), ordering="retrying")
    def retrying(self, obj):
        return obj.retrying

    @admin.display(description=_("已发送"), ordering="sent")
    def sent(self, obj):
        return obj.sent

    @admin.display(description=_("被拒收(43101)"), ordering="refused")
    def refused(self, obj):
        return obj.refused

    @admin.display(description=_("失败"), ordering="failed")
    def failed(self, obj):
        return obj.failed

    @admin.display(description=_("无额度未发"), ordering="skipped")
    def skipped(self, obj):
        return obj.skipped

    @admin.display(description=_("失败与拒收明细"))
    def failures(self, obj):
        url = reverse("admin:notifications_delivery_changelist")
        query = f"?event__id__exact={obj.pk}&state__in={State.FAILED},{State.REFUSED}"
        return format_html('<a href="{}{}">{}</a>', url, query, _("查看"))
