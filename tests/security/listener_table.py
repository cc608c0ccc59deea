# ruff: noqa: E501 - the table is one line per route, wide by design
"""The GovStack listener's attack table: who may call which facade route on which object.

Every cell is a literal, written by hand; ``tests/security/test_listener_table.py`` calls every
route of ``create_govstack_app`` (as ``civicloom serve --govstack-port`` serves it, trusting the
``Information-Mediator-Client`` header as behind an IM security server) as every caller, on the
owner's real objects with bodies the owner may send, and compares. A refused mutating call
must leave no row, no change of state and no audit entry other than the refusal.

Callers (columns):
  none     no credentials at all
  unknown  an ``Information-Mediator-Client`` naming a subsystem no client is registered for
  other    a valid environment-department machine client holding every scope, registered for
           its own room ``civicloom/GOV/90000002/police``: it tries the owner's objects
  owner    a valid local-admin machine client holding every scope, registered for the room
           ``civicloom/GOV/90000001/births``, whose objects every path names
Both clients send their API key and their own IM subsystem header.

Objects: the owner's Registration file and its registrar's task, its messaging request, two
local-admin licences (one revoked by ``update``, one by ``delete``), its room's event types
(``newBirth`` published, pulled and acknowledged; ``newDeath`` subscribed to here;
``newMarriage`` unsubscribed here; ``oldBirth`` deleted here) and events (``event`` pulled and
acknowledged; ``cancelled`` withdrawn). ``-`` rows name no object.

The Messaging paths answer 401 and 422 as 405 on the listener (ADR 0046); the pub/sub paths
answer 422 as 400 (ADR 0054).
"""

from __future__ import annotations

COLUMNS = ("none", "unknown", "other", "owner")

# method path | body | none unknown other owner
TABLE = """
GET    /openapi.json                                                   | -            | 200 200 200 200
GET    /problems/{slug}                                                | -            | 200 200 200 200

# --- Messaging: sending is the caller's own; a request's status and callback are its sender's
POST   /send/email/single                                              | email        | 405 405 200 200
POST   /send/email/batch                                               | email_batch  | 405 405 200 200
GET    /status/email                                                   | request_uid  | 405 405 404 200
POST   /callback/email                                                 | callback     | 405 405 404 200

# --- Payments P2G: payer institutions only; the bill is unknown to everyone. An unknown bill is
# the spec's answer code "01" (inquiry 200, notification 400, the refusal audited with its reason)
GET    /bills/{billId}                                                 | -            | 401 401 200 200
POST   /billTransferRequests                                           | bill         | 401 401 400 400

# --- Registration: services are public; files and tasks are their submitter's / department's
GET    /services                                                       | -            | 200 200 200 200
GET    /services/{serviceId}                                           | -            | 200 200 200 200
GET    /services/{serviceId}/eForms                                    | -            | 200 200 200 200
GET    /eForms/{eFormId}                                               | -            | 200 200 200 200
POST   /services/{serviceId}/applications                              | file         | 401 401 200 200
GET    /applications                                                   | -            | 401 401 200 200
GET    /applications/{fileId}                                          | -            | 401 401 404 200
POST   /documents                                                      | document     | 401 401 404 422
GET    /tasks                                                          | -            | 401 401 200 200
GET    /tasks/{taskId}                                                 | -            | 401 401 404 200
# safe: a machine client never decides an officer's review (ADR 0047), its own department's included
POST   /tasks/{taskId}/complete                                        | decision     | 401 401 404 403
# public like the performance page; the IM header is required
GET    /data/statistics/1.0                                            | -            | 400 200 200 200
GET    /data/statistics                                                | -            | 400 200 200 200

# --- Digital Registries: the licence register is read by any registries client; changed by the issuer
GET    /databases                                                      | -            | 401 401 200 200
GET    /database/{id}                                                  | -            | 401 401 200 200
GET    /data/myPersonalDataUsage                                       | usage        | 401 401 403 403
GET    /data/MyPersonalDataUsage/1.0                                   | usage        | 401 401 403 403
GET    /data/{registryName}/{versionNumber}                            | -            | 401 401 200 200
POST   /data/{registryName}/{versionNumber}/read                       | by_id        | 401 401 200 200
POST   /data/{registryName}/{versionNumber}/exists                     | by_id        | 401 401 200 200
GET    /data/{registryName}/{versionNumber}/{uuid}/readValue/{field}.{ext}  | -     | 401 401 200 200
GET    /data/{registryName}/{versionNumber}/{uuid}/read-value/{field}.{ext} | -     | 401 401 200 200
POST   /data/{registryName}/{versionNumber}/create                     | write        | 401 401 405 405
POST   /data/{registryName}/{versionNumber}/updateOrCreate             | write        | 401 401 405 405
POST   /data/{registryName}/{versionNumber}/update-or-create           | write        | 401 401 405 405
PUT    /data/{registryName}/{versionNumber}/updateEntries              | write        | 401 401 405 405
PUT    /data/{registryName}/{versionNumber}/update-entries             | write        | 401 401 405 405
PUT    /data/{registryName}/{versionNumber}/update                     | revoke       | 401 401 404 200
DELETE /data/{registryName}/{versionNumber}/{ID}/delete                | -            | 401 401 404 204

# --- IM metaservices: listClients and allowedMethods public (the latter lists only the caller's grants)
GET    /listClients                                                    | -            | 200 200 200 200
GET    /{instanceId}/{memberClass}/{memberCode}/{applicationCode}/listMethods      | - | 401 401 200 200
GET    /r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/listMethods   | - | 401 401 200 200
GET    /{instanceId}/{memberClass}/{memberCode}/{applicationCode}/allowedMethods   | - | 200 200 200 200
GET    /r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/allowedMethods| - | 200 200 200 200
GET    /{instanceId}/{memberClass}/{memberCode}/{applicationCode}/getOpenAPI       | openapi | 401 401 200 200
GET    /r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}/getOpenAPI    | openapi | 401 401 200 200

# --- IM pub/sub (ADR 0054, 0057): the room's own client manages and publishes; only clients on the
# room's list (kept by its owner or an operator) read its event types, subscribe and fetch
POST   /r1/{room}/api/v1/eventType                                     | event_type   | 401 401 403 200
GET    /r1/{room}/api/v1/eventType                                     | -            | 401 401 403 200
GET    /r1/{room}/api/v1/eventType/{eventType}                         | -            | 401 401 403 200
DELETE /r1/{room}/api/v1/eventType/{oldType}                           | -            | 401 401 403 204
POST   /r1/{room}/pub/v1/{eventType}                                   | publish      | 401 401 403 201
GET    /r1/{room}/pub/v1/{eventType}/{eventId}                         | -            | 401 401 403 200
DELETE /r1/{room}/pub/v1/{eventType}/{cancelledId}                     | -            | 401 401 403 204
GET    /r1/{room}/api/v1/subs                                          | -            | 401 401 200 200
# another department's client is not on this room's list (ADR 0057)
POST   /r1/{room}/api/v1/subs/{newType}                                | subscribe    | 401 401 403 200
GET    /r1/{room}/api/v1/subs/{eventType}                              | -            | 401 401 404 200
PATCH  /r1/{room}/api/v1/subs/{eventType}                              | resubscribe  | 401 401 403 201
DELETE /r1/{room}/api/v1/subs/{endedType}                              | -            | 401 401 404 204
GET    /r1/{room}/pull/v1/{eventType}                                  | -            | 401 401 403 200
DELETE /r1/{room}/pull/v1/{eventType}/{eventId}                        | -            | 401 401 403 204
# the room's list is its own client's (last: the owner's PUT puts the other client on it, its DELETE takes it off)
GET    /r1/{room}/api/v1/allowedSubscribers                            | -            | 401 401 403 200
PUT    /r1/{room}/api/v1/allowedSubscribers/{subscriber}               | -            | 401 401 403 201
DELETE /r1/{room}/api/v1/allowedSubscribers/{subscriber}               | -            | 401 401 403 204
"""

ROOM_TEMPLATE = "/r1/{instanceId}/{memberClass}/{memberCode}/{applicationCode}"
"""The app's path template of a room (``{room}`` in the table)."""
ALIASES = {"{oldType}": "{eventType}", "{newType}": "{eventType}", "{endedType}": "{eventType}",
           "{cancelledId}": "{eventId}",
           "{subscriber}": "{subscriberInstance}/{subscriberClass}/{subscriberMember}/{subscriberApplication}"}  # fmt: skip
"""The table names which object a path takes; the app's template has one parameter name."""


def rows() -> list[tuple[str, str, str, str, dict[str, str]]]:
    """(method, table path, app path template, body, {caller: expected status})."""
    found = []
    for line in TABLE.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        left, body, cells = (part.strip() for part in line.split("|"))
        method, path = left.split()
        statuses = cells.split()
        assert len(statuses) == len(COLUMNS), line
        template = path.replace("/r1/{room}", ROOM_TEMPLATE)
        for alias, name in ALIASES.items():
            template = template.replace(alias, name)
        found.append((method, path, template, body, dict(zip(COLUMNS, statuses, strict=True))))
    return found
