"""Electronic signatures (21 CFR Part 11): re-authentication, manifestation, linking by hash."""

from datetime import UTC

import pytest
from django.db import transaction

from mes import roles, throttle
from mes.errors import Forbidden, Throttled, ValidationFailed
from mes.models import SignInAttempt
from mes.signatures import (
    Meaning,
    Signature,
    content_hash,
    manifestations,
    signature_is_intact,
    signature_reauthenticate,
    signature_sign,
    signatures_for,
)
from mes.tests.factories import SiteFactory

PASSWORD = "pass-word-1"


@pytest.fixture
def quality_user(make_user):
    return make_user(roles.QUALITY, username="quinn", first_name="Quinn", last_name="Quist")


@pytest.mark.requirement("P11-11.50", "A11-14")
def test_signing_with_password_records_signer_name_meaning_utc_time_and_hash(quality_user, site):
    signature = signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, password=PASSWORD)

    assert signature.signer == quality_user
    assert signature.printed_name == "Quinn Quist"
    assert signature.meaning == "approved"
    assert signature.method == "password"
    assert signature.signed_at.tzinfo is not None and signature.signed_at.utcoffset().total_seconds() == 0
    assert signature.content_hash == content_hash(site) and len(signature.content_hash) == 64
    assert signature.record == site
    assert list(signatures_for(site)) == [signature]
    attempt = SignInAttempt.objects.get(kind="signature")
    assert attempt.succeeded and attempt.identifier == "quinn"


@pytest.mark.requirement("P11-11.50")
def test_manifestation_shows_name_time_and_meaning(quality_user, site):
    signature_sign(record=site, signer=quality_user, meaning=Meaning.REVIEWED, password=PASSWORD)

    [shown] = manifestations(site)

    assert shown.printed_name == "Quinn Quist"
    assert shown.meaning == "Reviewed"
    assert shown.signed_at.tzinfo == UTC
    assert shown.intact
    assert str(shown).startswith("Reviewed by Quinn Quist on ")
    assert str(shown).endswith(" UTC")


@pytest.mark.requirement("P11-11.70", "P11-11.10a")
def test_signature_is_broken_when_the_signed_content_changes(quality_user, site):
    signature = signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, password=PASSWORD)
    assert signature_is_intact(signature)

    site.name = "Renamed afterwards"
    site.save()
    site.refresh_from_db()

    assert not signature_is_intact(Signature.objects.get(pk=signature.pk))
    [shown] = manifestations(site)
    assert not shown.intact and "BROKEN" in str(shown)


def test_wrong_password_is_refused_logged_and_counts_toward_lock_out(quality_user, site, settings):
    settings.SIGN_IN_MAX_FAILURES = 3
    for _ in range(3):
        with pytest.raises(ValidationFailed) as refused:
            signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, password="wrong")
        assert refused.value.field == "password"

    assert Signature.objects.count() == 0
    assert SignInAttempt.objects.filter(kind="signature", identifier="quinn", succeeded=False).count() == 3
    assert throttle.failures(scope=throttle.Scope.USERNAME, key="quinn") == 3
    # Locked out now: even the right password is refused, for signing as for signing in.
    with pytest.raises(Throttled):
        signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, password=PASSWORD)


def test_a_wrong_password_is_recorded_even_when_the_business_action_is_refused(quality_user, site):
    def business_action():
        reauth = signature_reauthenticate(signer=quality_user, password="wrong")  # raises
        with transaction.atomic():
            signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, reauth=reauth)

    with pytest.raises(ValidationFailed):
        business_action()
    assert SignInAttempt.objects.filter(kind="signature", succeeded=False).count() == 1


@pytest.mark.requirement("P11-11.200")
def test_badge_and_pin_signing_needs_both_components_of_the_signer(make_user, site):
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "1234"))
    other = make_user(roles.OPERATOR, username="omar", badge=("1002", "2345"))

    with pytest.raises(ValidationFailed) as no_pin:
        signature_sign(record=site, signer=operator, meaning=Meaning.PERFORMED, badge_number="1001")
    assert no_pin.value.field == "pin"
    with pytest.raises(ValidationFailed) as no_badge:
        signature_sign(record=site, signer=operator, meaning=Meaning.PERFORMED, pin="1234")
    assert no_badge.value.field == "badge_number"
    with pytest.raises(ValidationFailed):  # someone else's badge and PIN
        signature_sign(
            record=site, signer=operator, meaning=Meaning.PERFORMED, badge_number="1002", pin="2345"
        )
    assert other.pk != operator.pk

    signature = signature_sign(
        record=site, signer=operator, meaning=Meaning.PERFORMED, badge_number="1001", pin="1234"
    )
    assert signature.method == "badge_pin"
    assert SignInAttempt.objects.filter(kind="signature", identifier="1001", succeeded=True).count() == 1


@pytest.mark.requirement("P11-11.200")
def test_each_signing_needs_its_own_reauthentication(quality_user, site):
    reauth = signature_reauthenticate(signer=quality_user, password=PASSWORD)
    signature_sign(record=site, signer=quality_user, meaning=Meaning.REVIEWED, reauth=reauth)

    with pytest.raises(Forbidden):
        signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, reauth=reauth)
    with pytest.raises(ValidationFailed) as no_password:
        signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED)
    assert no_password.value.field == "password"


def test_a_reauthentication_signs_only_for_its_own_signer(quality_user, make_user, site):
    other = make_user(roles.QUALITY, username="other")
    reauth = signature_reauthenticate(signer=other, password=PASSWORD)

    with pytest.raises(Forbidden):
        signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, reauth=reauth)


def test_unknown_meaning_is_refused(quality_user, site):
    with pytest.raises(ValidationFailed) as refused:
        signature_sign(record=site, signer=quality_user, meaning="liked", password=PASSWORD)
    assert refused.value.field == "meaning"


def test_content_hash_depends_on_the_record_not_on_its_type_alone(db):
    one, two = SiteFactory(code="A1", name="Same"), SiteFactory(code="A2", name="Same")
    assert content_hash(one) != content_hash(two)
    assert content_hash(one) == content_hash(type(one).objects.get(pk=one.pk))


@pytest.mark.requirement("P11-11.70")
@pytest.mark.postgres
def test_signatures_cannot_be_changed_or_deleted_on_postgresql(quality_user, site):
    from django.db import DatabaseError

    signature = signature_sign(record=site, signer=quality_user, meaning=Meaning.APPROVED, password=PASSWORD)
    with pytest.raises(DatabaseError), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(meaning="reviewed")
    with pytest.raises(DatabaseError), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).delete()
