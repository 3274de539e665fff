"""`manage.py import_people`: all or nothing, line numbers and reasons, and nothing new on a repeat."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mes import roles
from mes.models import User
from mes.tests.factories import SiteFactory

HEADER = "username,first_name,last_name,badge_number,role,sites,email\n"
GOOD = HEADER + (
    "olga,Olga,Operator,1001,operator,PLANT1,olga@example.com\n"
    "nina,Nina,New,2001,operator,PLANT1;SECOND,\n"
    "\n"
    "sven,Sven,Super,2002,supervisor,SECOND,sven@example.com\n"
    "quinn,Quinn,Quality,,quality,*,\n"
)


@pytest.fixture
def admin(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def second(db):
    return SiteFactory(code="SECOND", name="Second plant")


def _write(tmp_path, text, name="people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _import(path, *args, by="ada"):
    out, err = StringIO(), StringIO()
    call_command("import_people", path, "--by", by, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _history_rows() -> int:
    return User.history.count()


def test_a_good_file_creates_and_updates_people_with_who_and_why(tmp_path, admin, operator, site, second):
    out, _ = _import(_write(tmp_path, GOOD))
    assert "Created 3, changed 1, left 0 unchanged." in out
    nina = User.objects.get(username="nina")
    assert roles.role_of(nina) == roles.OPERATOR
    assert {s.code for s in nina.sites.all()} == {"PLANT1", "SECOND"}
    assert User.objects.get(username="quinn").all_sites
    assert roles.role_of(User.objects.get(username="sven")) == roles.SUPERVISOR
    first = nina.history.last()
    assert (first.history_type, first.history_user, first.history_change_reason) == (
        "+",
        admin,
        "Imported from people.csv",
    )
    operator.refresh_from_db()
    assert (operator.first_name, operator.email) == ("Olga", "olga@example.com")


def test_importing_the_same_file_again_changes_nothing(tmp_path, admin, operator, site, second):
    path = _write(tmp_path, GOOD)
    _import(path)
    rows = _history_rows()
    out, _ = _import(path)
    assert "Created 0, changed 0, left 4 unchanged." in out
    assert _history_rows() == rows


def test_a_bad_file_is_refused_whole_with_line_numbers_and_reasons(tmp_path, admin, operator, site, second):
    text = HEADER + (
        "nina,Nina,New,2001,operator,PLANT1,\n"  # line 2: fine on its own
        "olaf,Olaf,Other,1001,operator,PLANT1,\n"  # 3: badge held by olga
        "nina,Nina,Again,2003,operator,PLANT1,\n"  # 4: username twice in the file
        "pia,Pia,P,2001,operator,PLANT1,\n"  # 5: badge twice in the file
        "rolf,Rolf,R,2004,boss,PLANT1,\n"  # 6: unknown role
        "sita,Sita,S,2005,operator,PLANT1;NOWHERE,\n"  # 7: unknown site
        "bad name,B,N,2006,operator,PLANT1,\n"  # 8: bad username
        "mail,M,M,2007,operator,PLANT1,not-an-address\n"  # 9: bad e-mail
    )
    users, rows = User.objects.count(), _history_rows()
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_people", _write(tmp_path, text), "--by", "ada", stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("line 3: badge_number: Badge 1001 is already in use")
    assert "line 4: username: nina is also on line 2" in lines
    assert "line 5: badge_number: 2001 is also on line 2" in lines
    assert any(line.startswith("line 6: role: boss is no role") for line in lines)
    assert "line 7: sites: unknown site(s): NOWHERE" in lines
    assert any(line.startswith("line 8: username: ") for line in lines)
    assert any(line.startswith("line 9: email: ") for line in lines)
    assert len(lines) == 7
    assert (User.objects.count(), _history_rows()) == (users, rows)


def test_a_header_with_a_missing_or_unknown_column_is_refused(tmp_path, admin):
    err = StringIO()
    with pytest.raises(CommandError):
        text = "username,first_name,last_name,badge,role,sites\nx,X,Y,1,operator,PLANT1\n"
        call_command("import_people", _write(tmp_path, text), "--by", "ada", stderr=err)
    assert "line 1: header: missing column(s): badge_number" in err.getvalue()
    assert "line 1: header: unknown column(s): badge" in err.getvalue()


def test_a_dry_run_writes_nothing(tmp_path, admin, operator, site, second):
    users, rows = User.objects.count(), _history_rows()
    out, _ = _import(_write(tmp_path, GOOD), "--dry-run")
    assert "Would create 3, would change 1, would leave 0 unchanged." in out
    assert "Dry run: nothing was written." in out
    assert (User.objects.count(), _history_rows()) == (users, rows)


def test_a_supervisors_import_keeps_to_their_sites_and_roles(tmp_path, supervisor, site, second):
    text = HEADER + "nina,Nina,New,2001,operator,PLANT1,\nada,Ada,Admin,,admin,SECOND,\n"
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_people", _write(tmp_path, text), "--by", "sam", stderr=err)
    assert "line 3: role: You may not give the admin role." in err.getvalue()
    assert not User.objects.filter(username__in=["nina", "ada"]).exists()


def test_the_importer_must_be_an_active_person_who_manages_people(tmp_path, operator, admin):
    path = _write(tmp_path, GOOD)
    with pytest.raises(CommandError, match="may not manage people"):
        _import(path, by="olga")
    with pytest.raises(CommandError, match="no active person"):
        _import(path, by="nobody")


def test_the_reason_is_given_and_a_non_utf8_file_is_refused(tmp_path, admin, site):
    text = HEADER + "nina,Nina,New,2001,operator,PLANT1,\n"
    _import(_write(tmp_path, text), "--reason", "Plant opening day")
    assert User.objects.get(username="nina").history.first().history_change_reason == "Plant opening day"
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "jörg,Jörg,J,3001,operator,PLANT1,\n").encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        _import(str(path))
