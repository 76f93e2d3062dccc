"""Asynchronous processing: operations an administrator approves, Pending and Status.

An operation a setting names is not processed at once: a request that offered #Pending is
stored and answered with ResultMajor Pending (the result's Id is the ResponseId to ask
with later); one that did not gets Receiver/NotSynchronous. An administrator approves
(the operation runs then, once) or rejects; PendingRequest returns the result, and
StatusRequest says how far it got.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import Row, insert, select, update

from passport.identity.audit import Actor, AuditLog
from passport.identity.clock import Clock
from passport.identity.errors import Conflict, NotFound
from passport.storage.database import Database
from passport.storage.tables import xkms_pending
from passport.xkms import names
from passport.xkms.errors import XkmsError
from passport.xkms.messages import Element, Request, child, new_result, parse_request

PENDING, PROCESSING, APPROVED, REJECTED = "pending", "processing", "approved", "rejected"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

Processor = Callable[[str, Element, str, str], Element]


class NotSynchronous(XkmsError):
    """The operation needs an administrator's approval and #Pending was not offered."""

    major = names.RECEIVER
    minor = names.NOT_SYNCHRONOUS


class UnknownResponseId(XkmsError):
    """No pending request has this ResponseId."""

    minor = names.UNKNOWN_RESPONSE_ID


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A deferred request as administrators see it."""

    id: int
    response_id: str
    operation: str
    request_id: str
    state: str
    client_address: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    notification: str | None


def _entry(r: Row[Any]) -> PendingEntry:
    mechanism, identifier = r.notification_mechanism, r.notification_identifier
    return PendingEntry(
        id=r.id,
        response_id=r.response_id,
        operation=r.operation,
        request_id=r.request_id,
        state=r.state,
        client_address=r.client_address,
        created_at=r.created_at,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        notification=f"{mechanism} {identifier}" if mechanism else None,
    )


@dataclass
class Asynchronous:
    """Defers, decides and answers for the operations that need approval."""

    database: Database
    clock: Clock
    audit: AuditLog
    operations: frozenset[str]

    def required(self, request: Request) -> bool:
        """Whether this request's operation waits for an administrator."""
        return request.kind.removesuffix("Request") in self.operations

    def defer(self, request: Request, result_name: str, service: str, client: str) -> Element:
        """Store the request and answer Pending; NotSynchronous unless #Pending was offered."""
        if names.MECHANISM_PENDING not in request.response_mechanisms:
            raise NotSynchronous(f"{request.kind} waits for approval and #Pending was not offered")
        result = new_result(request, result_name, service, names.PENDING)
        notification = child(request.element, "PendingNotification")
        with self.database.write() as connection:
            connection.execute(
                insert(xkms_pending).values(
                    response_id=result.get("Id"),
                    operation=request.kind,
                    request_id=request.id[:255],
                    request_xml=etree.tostring(request.element).decode("utf-8"),
                    service=service[:255],
                    client_address=client[:64],
                    state=PENDING,
                    notification_mechanism=None
                    if notification is None
                    else (notification.get("Mechanism") or "")[:255],
                    notification_identifier=None
                    if notification is None
                    else (notification.get("Identifier") or "")[:255],
                    created_at=self.clock.now(),
                )
            )
            self.audit.record(
                Actor.anonymous(client),
                "xkms.pending",
                f"request:{request.id[:64]}",
                success=True,
                detail=f"{request.kind} waits for approval; ResponseId {result.get('Id')}",
                connection=connection,
            )
        return result

    def entries(self, *, include_decided: bool = False) -> list[PendingEntry]:
        """Deferred requests, oldest first; by default only those still waiting."""
        query = select(xkms_pending).order_by(xkms_pending.c.id)
        if not include_decided:
            query = query.where(xkms_pending.c.state == PENDING)
        with self.database.read() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def decide(
        self, entry_id: int, *, approve: bool, actor: Actor, process: Processor
    ) -> PendingEntry:
        """Approve (the operation runs now, once) or reject a waiting request."""
        now = self.clock.now()
        with self.database.write() as connection:
            claimed = connection.execute(
                update(xkms_pending)
                .where(xkms_pending.c.id == entry_id, xkms_pending.c.state == PENDING)
                .values(state=PROCESSING, decided_at=now, decided_by=actor.name[:160])
            ).rowcount
            row = connection.execute(
                select(xkms_pending).where(xkms_pending.c.id == entry_id)
            ).first()
        if row is None:
            raise NotFound(f"No pending XKMS request {entry_id}.", field="id", value=str(entry_id))
        if claimed != 1:
            raise Conflict(
                f"Pending XKMS request {entry_id} was already decided.",
                field="id",
                value=str(entry_id),
            )
        element = etree.fromstring(row.request_xml.encode("utf-8"), _PARSER)
        if approve:
            result = process(row.operation, element, row.service, row.client_address)
        else:
            request = parse_request(element)
            name = row.operation.removesuffix("Request") + "Result"
            result = new_result(request, name, row.service, names.SENDER, names.REFUSED)
        with self.database.write() as connection:
            connection.execute(
                update(xkms_pending)
                .where(xkms_pending.c.id == entry_id)
                .values(
                    state=APPROVED if approve else REJECTED,
                    result_xml=etree.tostring(result).decode("utf-8"),
                )
            )
            self.audit.record(
                actor,
                "xkms.approve" if approve else "xkms.reject",
                f"request:{row.request_id[:64]}",
                success=True,
                detail=f"{row.operation} from {row.client_address}: "
                f"{(result.get('ResultMajor') or '').rsplit('#', 1)[-1]}",
                connection=connection,
            )
            decided = connection.execute(
                select(xkms_pending).where(xkms_pending.c.id == entry_id)
            ).one()
        return _entry(decided)

    def _stored(self, request: Request) -> tuple[str, str | None]:
        response_id = request.element.get("ResponseId") or ""
        with self.database.read() as connection:
            row = connection.execute(
                select(xkms_pending.c.state, xkms_pending.c.result_xml).where(
                    xkms_pending.c.response_id == response_id
                )
            ).first()
        if row is None:
            raise UnknownResponseId(f"no pending request has ResponseId {response_id[:64]!r}")
        return row.state, row.result_xml

    def pending_result(self, request: Request, service: str) -> Element:
        """The deferred result when decided; Pending (as `Result`) while it waits."""
        state, result_xml = self._stored(request)
        if state in (PENDING, PROCESSING) or result_xml is None:
            return new_result(request, "Result", service, names.PENDING)
        return etree.fromstring(result_xml.encode("utf-8"), _PARSER)

    def status(self, request: Request, service: str) -> Element:
        """StatusResult: how many of the deferred results succeeded, failed or wait."""
        state, result_xml = self._stored(request)
        result = new_result(request, "StatusResult", service)
        counts = {"Success": 0, "Failure": 0, "Pending": 0}
        if state in (PENDING, PROCESSING) or result_xml is None:
            counts["Pending"] = 1
        else:
            stored = etree.fromstring(result_xml.encode("utf-8"), _PARSER)
            inner = [e for e in stored if etree.QName(e).localname.endswith("Result")]
            for each in inner or [stored]:
                major = each.get("ResultMajor")
                counts["Success" if major == names.SUCCESS else "Failure"] += 1
        for name, count in counts.items():
            result.set(name, str(count))
        return result
