"""Test data for the plant kernel; other apps' tests build on these."""

import factory
from django.contrib.auth.models import Group

from mes import roles
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
