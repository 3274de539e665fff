import pytest
from django.db import models
from django.utils import translation

from mes.errors import IllegalTransition
from mes.signatures import Meaning
from mes.transitions import Transitions


class Door(models.TextChoices):
    OPEN = "open", "Open"
    SHUT = "shut", "Shut"
    LOCKED = "locked", "Locked"


DOOR = Transitions(Door, {Door.OPEN: {Door.SHUT}, Door.SHUT: {Door.OPEN, Door.LOCKED}, Door.LOCKED: set()})


def test_a_table_answers_which_moves_it_allows():
    assert DOOR.allowed("open", "shut") and not DOOR.allowed("open", "locked")
    assert not DOOR.allowed("nowhere", "open")
    assert DOOR["shut"] == {"open", "locked"} and "locked" in DOOR and len(DOOR) == 3


@pytest.mark.requirement("P11-11.10f")
def test_a_move_the_table_does_not_allow_is_refused_naming_what_it_could_become():
    DOOR.require("shut", "locked", record="Door 1")
    with pytest.raises(IllegalTransition) as refused:
        DOOR.require("open", "locked", record="Door 1")
    assert refused.value.message == "Door 1 is Open: it can't become Locked (it can become: Shut)."
    assert (refused.value.field, refused.value.status_code) == ("status", 409)
    with pytest.raises(IllegalTransition, match=r"\(it can become: nothing\)"):
        DOOR.require("locked", "open", record="Door 1")


def test_a_table_naming_no_state_of_its_lifecycle_is_a_mistake_found_at_import():
    with pytest.raises(ValueError, match="ajar"):
        Transitions(Door, {Door.OPEN: {"ajar"}})


def test_a_refusal_names_the_states_by_their_labels_in_the_readers_language():
    # The signatures' meanings stand in for any lifecycle whose labels the catalogs translate.
    signing = Transitions(
        Meaning,
        {Meaning.AUTHORED: {Meaning.REVIEWED, Meaning.REJECTED}, Meaning.REVIEWED: {Meaning.APPROVED}},
    )
    with translation.override("de"), pytest.raises(IllegalTransition) as refused:
        signing.require("authored", "approved", record="Version 2")
    assert refused.value.message == (
        "Version 2 hat den Status „Verfasst“ und kann nicht zu „Genehmigt“ wechseln (möglich: Geprüft, Abgelehnt)."
    )
