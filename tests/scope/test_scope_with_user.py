"""``Scope.with_user`` (the web's one-statement load of a user and their scope) answers what
``Scope.of`` does, on both databases: a leaf commune, a unit with levels below, the top unit
(every unit: no filter), a unit with no users' subtree rows, and a user that does not exist."""

from __future__ import annotations

from sqlalchemy import select

from broadcaster.db import make_engine, session_factory
from broadcaster.models import Unit, User
from broadcaster.scope import Scope

# code → (kind, name, parent code): a province, a former district with two communes, a commune
# straight under the province, and a cluster under that commune.
TREE = {
    "62": ("province", "Tỉnh Kon Tum", None),
    "620": ("district", "Huyện cũ", "62"),
    "62001": ("commune", "Xã Đắk Hà", "620"),
    "62002": ("commune", "Xã Đắk Mar", "620"),
    "62003": ("commune", "Xã Ngọk Réo", "62"),
    "62003-1": ("cluster", "Cụm Ngọk Réo 1", "62003"),
}


def test_with_user_answers_what_of_does(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        factory = session_factory(engine)
        with factory() as s:
            ids: dict[str, int] = {}
            for code, (kind, name, parent) in TREE.items():
                unit = Unit(
                    kind=kind, code=code, name=name, parent_id=ids[parent] if parent else None
                )
                s.add(unit)
                s.flush()
                ids[code] = unit.id
            for code in TREE:
                s.add(
                    User(
                        username=f"u{code}",
                        display_name=code,
                        password_hash="x",
                        role="officer",
                        unit_id=ids[code],
                    )
                )
            s.commit()
        with factory() as s:
            users = s.scalars(select(User).where(User.username.like("u%"))).all()
            assert len(users) == len(TREE)
            for user in users:
                found = Scope.with_user(s, user.id)
                assert found is not None
                loaded, scope = found
                assert loaded is user  # the same identity, loaded by the same statement
                assert scope == Scope.of(s, user), user.username
            by_name = {u.username: u.id for u in users}
            top = Scope.with_user(s, by_name["u62"])
            assert top is not None and top[1].everything
            district = Scope.with_user(s, by_name["u620"])
            assert district is not None
            assert district[1].unit_ids == {ids["620"], ids["62001"], ids["62002"]}
            leaf = Scope.with_user(s, by_name["u62002"])
            assert leaf is not None and leaf[1].unit_ids == {ids["62002"]}
            assert Scope.with_user(s, 10**9) is None
    finally:
        engine.dispose()
