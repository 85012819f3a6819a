"""What every app's back office shares: the base of the pages staff may look at but not edit.

Rows such as logs, deliveries and claims are written by their services alone; an admin form
that saved one would be a second write path (docs/architecture.md, "The layers").
"""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Only the services write these rows; staff look, and act through actions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
