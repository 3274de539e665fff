"""Test data for the plant kernel, and clients signed in as its people; other apps' tests build on
these."""

import time

import factory
from django.contrib.auth.models import Group
from django.test import Client

from mes import roles
from mes.middleware import SESSION_LAST_SEEN, SESSION_ON_TABLET
from mes.models import Line, Site, User, Workstation


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"S{n}")
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")
    time_zone = "Europe/Berlin"


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Line

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"L{n}")
    name = factory.LazyAttribute(lambda o: f"Line {o.code}")


class WorkstationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workstation

    line = factory.SubFactory(LineFactory)
    code = factory.Sequence(lambda n: f"WS{n}")
    name = factory.LazyAttribute(lambda o: f"Workstation {o.code}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == roles.ADMIN:
                self.is_staff = True
            if extracted in (roles.ADMIN, roles.AUDITOR):
                self.all_sites = True
            self.save()

    @factory.post_generation
    def site(self, create, extracted, **kwargs):
        if extracted:
            self.sites.add(extracted)

    @factory.post_generation
    def badge(self, create, extracted, **kwargs):
        if extracted:
            self.badge_number, pin = extracted
            self.set_pin(pin)
            self.save()


def signed_in(client: Client, user, *, on_tablet: bool = False) -> Client:
    """`client` with `user` signed in as the sign-in pages sign a person in (at the desk, or with
    a badge on a tablet), idle-time clock included, without going through them: the tests of the
    sign-in pages themselves go through them."""
    backend = "mes.auth.BadgePinBackend" if on_tablet else "mes.auth.PermissionBackend"
    client.force_login(user, backend=backend)
    session = client.session
    session[SESSION_LAST_SEEN] = time.time()
    session[SESSION_ON_TABLET] = on_tablet
    session.save()
    return client
