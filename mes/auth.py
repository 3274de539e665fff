"""Authentication backend for badge + PIN sign-in on a workstation tablet."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.hashers import make_password


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
