"""Groups (global, or of one application), their members, and permission grants."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from passport.identity.applications import Application, ApplicationService
from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.identity.errors import Conflict, InvalidValue, NotFound
from passport.identity.text import check_name
from passport.identity.users import User
from passport.storage.database import Database
from passport.storage.tables import (
    APPLICATION_NAME_MAX,
    GROUP_NAME_MAX,
    PERMISSION_MAX,
    application_info,
    group_member,
    permission_grant,
    user_account,
    user_group,
)

_PERMISSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:*-]*")


@dataclass(frozen=True, slots=True)
class Group:
    """A group; `application` is None for a global group."""

    id: int
    name: str
    application: str | None

    @property
    def label(self) -> str:
        """`name` for a global group, `application/name` otherwise."""
        return self.name if self.application is None else f"{self.application}/{self.name}"


@dataclass(frozen=True, slots=True)
class Grant:
    """A permission of an application, granted to a group or to a user."""

    application: str
    permission: str
    group: str | None
    user: str | None

    def as_wire(self) -> dict[str, str | None]:
        """The grant as the API shows it."""
        return {
            "Application": self.application,
            "Permission": self.permission,
            "Group": self.group,
            "User": self.user,
        }


def check_permission(permission: str | None) -> str:
    """A permission string such as `docs:write`: letters, digits and `_ . : * -`."""
    checked = check_name(
        permission or "", field="permission", label="Permission", max_length=PERMISSION_MAX
    )
    if not _PERMISSION.fullmatch(checked):
        raise InvalidValue(
            "Permission may hold only letters, digits and _ . : * - (e.g. docs:write).",
            field="permission",
            value=checked,
        )
    return checked


def _scope(application: Application | None) -> str:
    return "global" if application is None else f"app:{application.id}"


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


class GroupService:
    """Groups, membership and grants; every change is audited."""

    def __init__(
        self, database: Database, clock: Clock, audit: AuditLog, applications: ApplicationService
    ) -> None:
        self.database = database
        self.clock = clock
        self.audit = audit
        self.applications = applications

    def _application(self, name: str | None) -> Application | None:
        if name is None or not name.strip():
            return None
        return self._required_application(name)

    def _required_application(self, name: str | None) -> Application:
        checked = check_name(
            name or "", field="application", label="Application", max_length=APPLICATION_NAME_MAX
        )
        application = self.applications.find_by_name(checked)
        if application is None:
            raise NotFound(
                f"Could not find application '{checked}'.", field="application", value=checked
            )
        return application

    def create(self, name: str | None, application: str | None, actor: Actor) -> Group:
        """A new group, global or belonging to an application."""
        checked = check_name(
            name or "", field="group", label="Group name", max_length=GROUP_NAME_MAX
        )
        app = self._application(application)
        try:
            with self.database.write() as connection:
                result = connection.execute(
                    insert(user_group).values(
                        name=checked,
                        name_key=_name_key(checked),
                        application_id=None if app is None else app.id,
                        scope=_scope(app),
                        created_at=self.clock.now(),
                    )
                )
                (group_id,) = result.inserted_primary_key or (0,)
                group = Group(int(group_id), checked, None if app is None else app.name)
                self.audit.record(
                    actor,
                    "group.create",
                    f"group:{group.label}",
                    success=True,
                    connection=connection,
                )
        except IntegrityError:
            raise Conflict(
                f"A group named '{checked}' already exists there.", field="group", value=checked
            ) from None
        return group

    def find(self, name: str | None, application: str | None = None) -> Group:
        """The group with this name (global, or of the application); NotFound otherwise."""
        checked = check_name(
            name or "", field="group", label="Group name", max_length=GROUP_NAME_MAX
        )
        app = self._application(application)
        with self.database.read() as connection:
            row = connection.execute(
                select(user_group.c.id, user_group.c.name).where(
                    user_group.c.scope == _scope(app), user_group.c.name_key == _name_key(checked)
                )
            ).first()
        if row is None:
            raise NotFound(f"Could not find group '{checked}'.", field="group", value=checked)
        return Group(row.id, row.name, None if app is None else app.name)

    def delete(self, group: Group, actor: Actor) -> None:
        """Delete a group, its memberships and its grants."""
        with self.database.write() as connection:
            connection.execute(delete(group_member).where(group_member.c.group_id == group.id))
            connection.execute(
                delete(permission_grant).where(permission_grant.c.group_id == group.id)
            )
            connection.execute(delete(user_group).where(user_group.c.id == group.id))
            self.audit.record(
                actor, "group.delete", f"group:{group.label}", success=True, connection=connection
            )

    def add_member(self, group: Group, user: User, actor: Actor) -> bool:
        """Add a user to a group; False when already a member."""
        target = f"group:{group.label} user:{user.username}"
        try:
            with self.database.write() as connection:
                connection.execute(insert(group_member).values(group_id=group.id, user_id=user.id))
                self.audit.record(
                    actor, "group.add_member", target, success=True, connection=connection
                )
        except IntegrityError:
            return False
        return True

    def remove_member(self, group: Group, user: User, actor: Actor) -> bool:
        """Remove a user from a group; False when not a member."""
        with self.database.write() as connection:
            removed = connection.execute(
                delete(group_member).where(
                    group_member.c.group_id == group.id, group_member.c.user_id == user.id
                )
            ).rowcount
            self.audit.record(
                actor,
                "group.remove_member",
                f"group:{group.label} user:{user.username}",
                success=removed == 1,
                detail="" if removed else "not a member",
                connection=connection,
            )
        return removed == 1

    def grant(
        self,
        permission: str | None,
        application: str | None,
        actor: Actor,
        *,
        group: Group | None = None,
        user: User | None = None,
    ) -> bool:
        """Grant a permission of an application to a group or a user; False if it was already."""
        checked = check_permission(permission)
        app = self._required_application(application)
        subject = Subject.of(group, user)
        target = f"{app.name}:{checked} to {subject.label}"
        try:
            with self.database.write() as connection:
                connection.execute(
                    insert(permission_grant).values(
                        application_id=app.id,
                        permission=checked,
                        subject=subject.key,
                        group_id=subject.group_id,
                        user_id=subject.user_id,
                        created_at=self.clock.now(),
                    )
                )
                self.audit.record(actor, "grant.add", target, success=True, connection=connection)
        except IntegrityError:
            return False
        return True

    def revoke(
        self,
        permission: str | None,
        application: str | None,
        actor: Actor,
        *,
        group: Group | None = None,
        user: User | None = None,
    ) -> bool:
        """Take a grant back; False when there was none."""
        checked = check_permission(permission)
        app = self._required_application(application)
        subject = Subject.of(group, user)
        with self.database.write() as connection:
            removed = connection.execute(
                delete(permission_grant).where(
                    permission_grant.c.application_id == app.id,
                    permission_grant.c.permission == checked,
                    permission_grant.c.subject == subject.key,
                )
            ).rowcount
            self.audit.record(
                actor,
                "grant.remove",
                f"{app.name}:{checked} to {subject.label}",
                success=removed == 1,
                detail="" if removed else "no such grant",
                connection=connection,
            )
        return removed == 1

    def grants(self, application: str | None = None) -> list[Grant]:
        """Every grant, or those of one application."""
        app = self._application(application)
        query = (
            select(
                application_info.c.name.label("application"),
                permission_grant.c.permission,
                user_group.c.name.label("group_name"),
                user_account.c.username,
            )
            .join(
                application_info,
                application_info.c.applicationid == permission_grant.c.application_id,
            )
            .outerjoin(user_group, user_group.c.id == permission_grant.c.group_id)
            .outerjoin(user_account, user_account.c.id == permission_grant.c.user_id)
            .order_by(application_info.c.name, permission_grant.c.permission, permission_grant.c.id)
        )
        if app is not None:
            query = query.where(permission_grant.c.application_id == app.id)
        with self.database.read() as connection:
            return [
                Grant(row.application, row.permission, row.group_name, row.username)
                for row in connection.execute(query)
            ]


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a grant is for: exactly one group or one user."""

    key: str
    label: str
    group_id: int | None
    user_id: int | None

    @classmethod
    def of(cls, group: Group | None, user: User | None) -> Subject:
        """The subject for a group or a user; InvalidValue unless exactly one is given."""
        if group is not None and user is None:
            return cls(f"g:{group.id}", f"group:{group.label}", group.id, None)
        if user is not None and group is None:
            return cls(f"u:{user.id}", f"user:{user.username}", None, user.id)
        raise InvalidValue("Give either a group or a user.", field="group")


@dataclass(frozen=True, slots=True)
class Memberships:
    """What a user belongs to and may do, as sessions and whoAmI report it."""

    groups: list[str]
    permissions: dict[str, list[str]]


# Memberships are read with the session, in the one statement of a session check
# (identity/checks.py), built once: one statement sees one snapshot on every backend and is
# one round trip on a networked database.
def membership_selects(user_id: ColumnElement[int]) -> tuple[Select[Any], Select[Any]]:
    """The two halves of a user's memberships: groups (kind 0) and permissions (kind 1).

    Columns: kind, first, second, application. Groups give their name, then their
    application's name ('' for global groups); permissions their application, then the
    permission.
    """
    member_of = select(group_member.c.group_id).where(group_member.c.user_id == user_id)
    groups = (
        select(
            literal_column("0").label("kind"),
            user_group.c.name.label("first"),
            func.coalesce(application_info.c.name, "").label("second"),
            application_info.c.name.label("application"),
        )
        .select_from(user_group)
        .join(group_member, group_member.c.group_id == user_group.c.id)
        .outerjoin(
            application_info, application_info.c.applicationid == user_group.c.application_id
        )
        .where(group_member.c.user_id == user_id)
    )
    permissions = (
        select(
            literal_column("1"),
            application_info.c.name,
            permission_grant.c.permission,
            application_info.c.name,
        )
        .select_from(permission_grant)
        .join(
            application_info, application_info.c.applicationid == permission_grant.c.application_id
        )
        .where(
            or_(permission_grant.c.user_id == user_id, permission_grant.c.group_id.in_(member_of))
        )
    )
    return groups, permissions


def add_membership(
    memberships: Memberships, kind: int, first: str, second: str, application: str | None
) -> None:
    """Add one row of `membership_selects` to what a user belongs to and may do."""
    if kind == 0:
        memberships.groups.append(first if application is None else f"{application}/{first}")
    else:
        memberships.permissions.setdefault(application or "", []).append(second)


def has_permission(
    connection: Connection, user_id: int, application_id: int, permission: str
) -> bool:
    """Whether the user holds the permission in the application, directly or through a group."""
    member_of = select(group_member.c.group_id).where(group_member.c.user_id == user_id)
    row = connection.execute(
        select(permission_grant.c.id)
        .where(
            permission_grant.c.application_id == application_id,
            permission_grant.c.permission == permission,
            or_(permission_grant.c.user_id == user_id, permission_grant.c.group_id.in_(member_of)),
        )
        .limit(1)
    ).first()
    return row is not None
