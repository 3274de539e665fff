"""Authentication backends: badge + PIN sign-in on a workstation tablet, and permissions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission


class BadgePinBackend(BaseBackend):
    def authenticate(self, request, badge_number: str | None = None, pin: str | None = None, **kwargs):
        if not badge_number or not pin:
            return None
        User = get_user_model()
        user = User.objects.filter(badge_number=badge_number, is_active=True).first()
        if user is None:
            # Spend the same time as a real check so badge numbers can't be probed by timing.
            make_password(pin)
            return None
        return user if user.check_pin(pin) else None

    def get_user(self, user_id):
        User = get_user_model()
        return User.objects.filter(pk=user_id, is_active=True).first()


class PermissionBackend(ModelBackend):
    """Django's model backend, reading a user's own and group permissions in one query, not two:
    a permission check guards every production request."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            columns = ("content_type__app_label", "codename")
            own = Permission.objects.filter(user=user_obj).order_by().values_list(*columns)
            via_groups = Permission.objects.filter(group__user=user_obj).order_by().values_list(*columns)
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in own.union(via_groups)}
        return user_obj._perm_cache
