from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from mes import services
from mes.admin_reasons import ChangeReasonMixin, ReasonedHistoryAdmin
from mes.errors import MesError
from mes.models import Line, Shift, SignInAttempt, Site, Tablet, User, Workstation


class AdminSignInForm(AdminAuthenticationForm):
    """The admin's login through the sign-in service every other way in uses: the same
    throttle, the same attempt log (kind "admin"), and the staff-only rule inside it."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = services.user_sign_in_with_password(
                    request=self.request, username=username, password=password, door=SignInAttempt.Kind.ADMIN
                )
            except MesError as exc:
                raise ValidationError(exc.message, code=exc.code) from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = AdminSignInForm


class LineInline(admin.TabularInline):
    model = Line
    extra = 0


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0


class WorkstationInline(admin.TabularInline):
    model = Workstation
    extra = 0


@admin.register(Site)
class SiteAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]
    inlines = [LineInline, ShiftInline]


@admin.register(Line)
class LineAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "site"]
    list_filter = ["site"]
    search_fields = ["code", "name"]
    inlines = [WorkstationInline]


@admin.register(Workstation)
class WorkstationAdmin(ReasonedHistoryAdmin):
    list_display = ["code", "name", "line", "active"]
    list_filter = ["line__site", "line", "active"]
    search_fields = ["code", "name"]


@admin.register(Shift)
class ShiftAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "site", "start_time", "end_time", "weekdays"]
    list_filter = ["site"]


@admin.register(User)
class MesUserAdmin(ChangeReasonMixin, UserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "first_name", "last_name", "badge_number", "is_active"]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("Shop floor", {"fields": ["badge_number", "sites", "all_sites"]}),
    ]
    filter_horizontal = ["groups", "user_permissions", "sites"]

    def has_delete_permission(self, request, obj=None):
        # People are deactivated, never deleted: deleting one would blank their name on every
        # history row they made (on PostgreSQL the history tables refuse that outright).
        return False


@admin.register(Tablet)
class TabletAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "workstation", "bound_by", "bound_at", "revoked_at"]
    list_filter = ["workstation__line__site"]
    readonly_fields = ["token", "bound_by", "bound_at", "revoked_by", "revoked_at"]


@admin.register(SignInAttempt)
class SignInAttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "identifier", "user", "workstation", "tablet", "ip_address", "outcome"]
    list_filter = ["kind", "outcome"]
    search_fields = ["identifier", "ip_address"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
