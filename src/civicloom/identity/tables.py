"""Tables of the identity module: browser sessions, machine clients (API keys), the staff
directory and its grants."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicloom.db import Base, JSONValue, UTCDateTime


class SessionRow(Base):
    """A server-side browser session; the cookie holds a token whose SHA-256 is the id."""

    __tablename__ = "identity_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSONValue)
    department: Mapped[str | None] = mapped_column(String(50))
    mandates: Mapped[list[str]] = mapped_column(JSONValue)
    authenticated_by: Mapped[str] = mapped_column(String(50))
    id_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiClientRow(Base):
    """A machine client's API key: prefix to find it, SHA-256 of the secret to check it."""

    __tablename__ = "identity_api_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(50), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSONValue)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_from: Mapped[str | None] = mapped_column(String(16))


class StaffRow(Base):
    """A member of staff as the identity provider last described them (ADR 0042): kept on each
    staff sign-in; the demo personas are loaded here by ``demo load``."""

    __tablename__ = "identity_staff"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(10))
    department: Mapped[str | None] = mapped_column(String(50), index=True)
    roles: Mapped[list[str]] = mapped_column(JSONValue)
    source: Mapped[str] = mapped_column(String(20))
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffGrantRow(Base):
    """What a department administrator grants that the identity provider does not carry:
    acting up in a role, leave, delegation of work to a colleague (ADR 0042)."""

    __tablename__ = "identity_staff_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(50))
    delegate: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class RateLimitWindowRow(Base):
    """How many requests one caller made to one rate-limited bucket in one minute (ADR 0062).

    ``key`` is a SHA-256 digest of the bucket and the caller (address or subject): the table
    never holds an address."""

    __tablename__ = "rate_limit_windows"

    bucket: Mapped[str] = mapped_column(String(50), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)
