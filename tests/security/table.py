# ruff: noqa: E501 - the table is one line per route, wide by design
"""The attack table: who may call which route on which object, written by hand.

Nothing here is computed from ``civicloom.identity`` or any other code under test: every cell
is a literal. ``tests/security/test_route_table.py`` calls every route of the built app as every
caller, with real objects and bodies the owner would be allowed to send, and compares.

Callers (columns):
  anon   nobody signed in
  alice  citizen, sole director of Golden Dragon Kitchen Ltd; owns every citizen object
  bob    citizen with no business (another citizen to Alice)
  olivia officer, local-admin (licensing officer)      grace  supervisor, local-admin
  otto   officer, local-admin without the licensing-officer role (added for this suite)
  elena  officer, environment (inspector)              erik   supervisor, environment
  priya  platform operator      ada  auditor      sam  service owner (local-admin)
  fiona  finance officer, local-admin    farah  finance officer, labour    omar  platform owner
  k+     API key of a local-admin system holding every scope
  k-     API key of a local-admin system without the route's scope (only kpis:read)
  kx     API key of an environment system holding every scope (another department)
Humans sign in through ``POST /auth/dev-login`` and carry the session cookie (and the form's
CSRF token); machines send ``Authorization: Bearer cl_...``.

Objects (column ``object``) and each caller's relationship to them:
  alice:  Alice's application / draft / consent / document / payment / licence:
          alice = own; bob = another citizen; everyone else = none
  la:     a local-admin department object (licensing task, the local-admin fee and its payment):
          olivia, otto, grace, sam, fiona, k+, k- = same department; elena, erik, farah, kx =
          other department
  env:    the environment inspection task: elena, erik, kx = same department; olivia, otto,
          grace, sam, k+, k- = other department
  statement: local-admin's funding statement of the current month (fiona = same department,
          farah = other department)
  tax:    a dead letter of the tax department's call (operators' object)
  staff_grant: Hana's (local-admin department administrator) leave grant for Nora
  change: Sam's (local-admin service owner) draft change request to Open a restaurant
          (change_template: to its 'submitted' message; change_edited: with a new field, ready to
          submit; change_submitted: submitted, waiting for local-admin and the central team)
  self:   the caller's own data (inbox, preferences, session)
  -:      no object (collections, public pages)

Cells: a status code, or ``login`` = 303 to a sign-in page (``/auth/...``). Any other 303 is
written ``303``. Where a mutating call is expected to succeed, that caller gets a fresh object
of the row's kind; refused callers all try the same one, which must come out unchanged.

The intended behaviour is issue 16's: another citizen -> 404; another department -> 404 for
department-scoped objects (payments, tasks, documents); wrong role -> 403; anonymous -> 401 on
the API and the sign-in redirect on pages; humans on machine-only routes (GovStack P2G and
messaging) -> 403; unsigned callbacks -> 401. Choices where the issue is silent are marked
``# safe:`` with the reason; they pick refusal.
"""

from __future__ import annotations

COLUMNS = (
    "anon", "alice", "bob", "olivia", "otto", "grace", "elena", "erik", "priya", "ada", "sam",
    "k+", "k-", "kx", "fiona", "farah", "omar",
)  # fmt: skip

# method path | object kind | body | anon alice bob olivia otto grace elena erik priya ada sam k+ k- kx fiona farah omar
TABLE = """
# --- public: platform, docs, catalogue -------------------------------------------------------
GET  /api/v1/openapi.json                        | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /api/v1/docs                                | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /api-docs                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /problems/{slug}                            | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /healthz                                    | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /readyz                                     | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /metrics                                    | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /api/v1/services                            | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
# the data catalogue (ADR 0050): public, describes data and holds none
GET  /api/v1/data-catalogue                      | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /data-catalogue                             | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /.well-known/jwks.json                      | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /assets                                     | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /static                                     | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /language/{locale}                          | -  | language | 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303
GET  /                                           | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /services                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /services/{service_id}                      | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /services/{service_id}/eligibility          | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /performance/{service}                      | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /accessibility                              | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /help                                      | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /contact                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /privacy                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /cookies                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /feedback                                   | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
POST /feedback                                   | -  | feedback_blank | 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400

# --- sign-in --------------------------------------------------------------------------------
GET  /auth/login                                 | -  | - | 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303
# No identity provider is configured in the test profile: the callback has nothing to finish.
GET  /auth/callback/{audience}                   | -  | - | 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /auth/dev-login                             | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
# Tried from a separate browser each time (signing in again would end the caller's session).
POST /auth/dev-login                             | -  | login_form | 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303
GET  /auth/signed-in                             | self | - | login 200 200 200 200 200 200 200 200 200 200 403 403 403 200 200 200
POST /auth/logout                                | self | logout | 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303 303
GET  /auth/me                                    | self | - | 401 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200

# --- licences (issued by local-admin to Alice) -------------------------------------------------
GET  /verify/{licence_id}                        | alice | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
GET  /licences/check                             | -  | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
POST /licences/check                             | -  | licence_pdf | 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400
GET  /api/v1/licences/{licence_id}/verification  | alice | - | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
POST /api/v1/licences/verification               | alice | token | 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200
# safe: the PDF is for its holder and the issuing department's staff (Sam is local-admin's
# service owner); nobody else learns it exists (Fiona handles local-admin's fees, not its
# licences: 404 like anyone outside); no key scope reads licences (403).
GET  /api/v1/licences/{licence_id}.pdf           | alice | - | 401 200 404 200 200 200 404 404 404 404 200 403 403 403 404 404 404
# safe: revoked by the issuing department's officers and supervisors only (not the operator,
# auditor, service owner or finance officer: wrong role, 403, checked first); another
# department's officer or supervisor -> 404; no key scope revokes. (Main let Sam revoke, 204,
# and answered other departments 403: fixed in documents/licences.py.)
POST /api/v1/licences/{licence_id}/revocation    | licence | revocation | 401 403 403 204 204 204 404 404 403 403 403 403 403 403 403 403 403

# --- citizen API: Alice's applications ------------------------------------------------------
# Golden Dragon's application: only who the business register names (or a delegate) may
# submit it (issue 17, ADR 0041); another citizen and department systems are refused (422).
POST /api/v1/applications                        | -     | application | 401 201 422 403 403 403 403 403 403 403 403 422 403 422 403 403 403
GET  /api/v1/applications/{application_id}       | alice | - | 401 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /api/v1/applications/{application_id}/status | alice | - | 401 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /api/v1/applications/{application_id}/withdrawal | la_task | - | 401 204 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /api/v1/applications/{application_id}/information | info_app | answer | 401 204 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /api/v1/applications/{application_id}/documents | alice | upload | 401 201 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /api/v1/applications/{application_id}/documents | alice | - | 401 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /api/v1/applications/{application_id}/documents/{document_id} | alice | - | 401 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /api/v1/me/data-use                         | self | - | 401 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /api/v1/me/notification-preferences         | self | - | 401 200 200 200 200 200 200 200 200 200 200 403 403 403 200 200 200
PUT  /api/v1/me/notification-preferences         | self | preferences | 401 200 200 200 200 200 200 200 200 200 200 403 403 403 200 200 200
GET  /api/v1/me/inbox                            | self | - | 401 200 200 200 200 200 200 200 200 200 200 403 403 403 200 200 200

# --- payments (Alice's fee, owned by local-admin) ---------------------------------------------
POST /api/v1/applications/{application_id}/payments | due_app | payment | 401 201 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /api/v1/applications/{application_id}/payments | paid  | - | 401 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
# Reads and refunds follow ADR 0033 (payment integrity), a deliberate decision: the payer,
# the fee department's officers, supervisors and finance officer, and the auditor (who reads
# every case) read a payment and its receipt (200); another department's staff 404 (existence
# does not leak); the operator, the service owner and the platform owner 403 (their role reads
# no payment); a key without payments:read 403. The list under an application serves its
# payer only. Only the fee department's finance officer (Fiona) or its system with
# payments:refund refunds: any other role 403 at the route (ADR 0033: "any other role,
# officers and supervisors included: 403", so Elena and Erik get 403, not 404); another
# department's finance officer (Farah) or system 404.
GET  /api/v1/payments/{payment_id}               | paid  | - | 401 200 404 200 200 200 404 404 403 200 403 200 403 404 200 404 403
GET  /api/v1/payments/{payment_id}/receipt       | paid  | - | 401 200 404 200 200 200 404 404 403 200 403 200 403 404 200 404 403
POST /api/v1/payments/{payment_id}/refunds       | paid  | refund | 401 403 403 403 403 403 403 403 403 403 403 201 403 404 201 404 403
# Signed by the provider only: an unsigned webhook is refused whoever sends it, with 400 as
# ADR 0019 decided ("400 on a bad signature, as Stripe advises"); nothing is recorded.
POST /api/v1/payments/webhooks/{provider}        | paid  | webhook | 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400 400
POST /api/v1/payments/reconciliations            | -     | settlement | 401 403 403 403 403 403 403 403 201 403 403 201 403 201 403 403 403
GET  /api/v1/payments/reconciliations/{reconciliation_id} | - | - | 401 403 403 403 403 403 403 403 200 403 403 200 403 200 403 403 403
GET  /api/v1/payments/reconciliations/{reconciliation_id}/findings.csv | - | - | 401 403 403 403 403 403 403 403 200 403 403 200 403 200 403 403 403
# GovStack P2G: machine clients with payments:p2g only; humans (the operator too) -> 403.
# ADR 0033 binds P2G to the role machine-client and the scope payments:p2g, not to a
# department: the payer institution pays any department's bill, and the notification is
# accepted only for the exact amount and currency due on a bill awaiting payment. So kx,
# holding payments:p2g, inquires (200) and pays (202) like k+.
GET  /bills/{billId}                             | due   | - | 401 403 403 403 403 403 403 403 403 403 403 200 403 200 403 403 403
POST /billTransferRequests                       | due_app | bill_transfer | 401 403 403 403 403 403 403 403 403 403 403 202 403 202 403 403 403

# --- department callbacks: signed by the department's secret only --------------------------
# The environment department answers by signed callback; the body names local-admin's fee
# step (its key is predictable, issue 16). Unsigned, it is refused whoever sends it.
POST /api/v1/callbacks/{department}              | env   | callback | 401 401 401 401 401 401 401 401 401 401 401 401 401 401 401 401 401

# --- GovStack messaging: machine clients with messaging:send only ----------------------------
POST /send/email/single                          | -     | email | 401 403 403 403 403 403 403 403 403 403 403 200 403 200 403 403 403
POST /send/email/batch                           | -     | email_batch | 401 403 403 403 403 403 403 403 403 403 403 200 403 200 403 403 403
# safe: a request's status is for the client that sent it (k+ sent it).
GET  /status/email                               | -     | request_uid | 401 403 403 403 403 403 403 403 403 403 403 200 403 404 403 403 403
POST /callback/email                             | -     | email_callback | 401 403 403 403 403 403 403 403 403 403 403 200 403 404 403 403 403

# --- development mail viewer ------------------------------------------------------------------
# safe: citizens' e-mails are personal data: sign-in required, operators only.
GET  /dev/mail                                   | -     | - | login 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403
GET  /dev/mail/{message_id}                      | -     | - | login 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403

# --- tasks API (the local-admin licensing task) -----------------------------------------------
# Officers work on their own department's tasks; a supervisor of the department may take over
# (claim, decide); only supervisors assign (officers: wrong role, 403). Machine keys never
# claim, release, ask or decide a human review, whatever their scopes or department: ADR 0034
# answers anyone but the department's officers and supervisors 404 on a task action. A key
# without tasks:assign meets the supervisor-only route first (403). A key with tasks:read
# reads its own department's tasks (another department's: 404; without the scope: 403).
# Otto is an officer of the department without the licensing-officer role the step asks for:
# he reads the task and writes notes, but does not claim, ask or decide (403).
GET  /api/v1/tasks                               | -     | - | 401 403 403 200 200 200 200 200 403 403 403 200 403 200 403 403 403
GET  /api/v1/tasks/{task_id}                     | la    | - | 401 403 403 200 200 200 404 404 403 403 403 200 403 404 403 403 403
POST /api/v1/tasks/{task_id}/claim               | la_task | - | 401 403 403 200 403 200 404 404 403 403 403 404 403 404 403 403 403
# The task is claimed by Olivia: only she releases it. ADR 0034: a task someone else holds is
# theirs, 409 ("olivia holds this task"), to her colleagues and her supervisor alike.
POST /api/v1/tasks/{task_id}/release             | la_task_claimed | - | 401 403 403 200 409 409 404 404 403 403 403 404 403 404 403 403 403
POST /api/v1/tasks/{task_id}/assignment          | la_task | assign | 401 403 403 403 403 200 403 404 403 403 403 403 403 403 403 403 403
# The task is claimed by Olivia: she decides; ADR 0034: her supervisor first takes it over
# by claiming it (audited), so Grace deciding straight away gets 409.
POST /api/v1/tasks/{task_id}/decision            | la_task_claimed | decision | 401 403 403 200 403 409 404 404 403 403 403 404 403 404 403 403 403
POST /api/v1/tasks/{task_id}/information-requests | la_task | information_request | 401 403 403 200 403 200 404 404 403 403 403 404 403 404 403 403 403

# --- operations API (a dead letter of the tax department's call) -------------------------------
GET  /api/v1/operations/dead-letters             | -     | - | 401 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403
POST /api/v1/operations/dead-letters/{dead_letter_id}/redrive | dead_letter | - | 401 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403
POST /api/v1/operations/dead-letters/{dead_letter_id}/abandon | dead_letter | - | 401 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403

# --- citizen portal ---------------------------------------------------------------------------
POST /services/{service_id}/apply                | -     | - | login 303 303 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /drafts/{draft_id}/prefill                  | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /drafts/{draft_id}/prefill                  | draft | prefill | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /drafts/{draft_id}/pages/{page_id}          | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /drafts/{draft_id}/pages/{page_id}          | draft | page_answers | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /drafts/{draft_id}/check                    | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /drafts/{draft_id}/submit                   | draft_full | draft_submit | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /drafts/{draft_id}/delete                   | draft | - | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /consents                                   | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /consents/{consent_id}/revoke               | consent | - | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /applications                               | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /applications/{application_id}             | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /applications/{application_id}/confirmation | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /applications/{application_id}/documents    | alice | page_upload | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /applications/{application_id}/information  | info_app | page_answer | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /applications/{application_id}/payment      | due_app | - | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /applications/{application_id}/withdraw     | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /applications/{application_id}/withdraw     | la_task | withdraw | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /data-use                                   | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /inbox                                      | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /account                                    | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /account                                    | self  | account | login 303 303 403 403 403 403 403 403 403 403 403 403 403 403 403 403

# --- back office pages (machine keys are never page users: 403) -------------------------------
# /backoffice sends each member of staff on to their role's home page (303); finance
# officers and the platform owner to their funding statements.
GET  /backoffice                                 | -     | - | login 403 403 303 303 303 303 303 303 303 303 403 403 403 303 303 303
GET  /backoffice/kpis                            | -     | - | login 403 403 403 403 200 403 200 200 200 200 403 403 403 403 403 403
# Visitors' feedback: read by service owners, the operator and the platform owner only.
GET  /backoffice/feedback                        | -     | - | login 403 403 403 403 403 403 403 200 403 200 403 403 403 403 403 200
# A CSV download, not a page: anonymous gets 401 like the API.
GET  /backoffice/kpis.csv                        | -     | kpi_query | 401 403 403 403 403 200 403 200 200 200 200 403 403 403 403 403 403
GET  /backoffice/tasks                           | -     | - | login 403 403 200 200 200 200 200 403 403 403 403 403 403 403 403 403
GET  /backoffice/tasks/{task_id}                 | la    | - | login 403 403 200 200 200 404 404 403 403 403 403 403 403 403 403 403
POST /backoffice/tasks/{task_id}/claim           | la_task | - | login 403 403 303 403 303 404 404 403 403 403 403 403 403 403 403 403
# A task Olivia holds: others get 409 (ADR 0034) on a page that names the holder and shows no
# case data (main re-rendered the task, an audited read of Alice's data inside a refusal).
POST /backoffice/tasks/{task_id}/release         | la_task_claimed | - | login 403 403 303 409 409 404 404 403 403 403 403 403 403 403 403 403
POST /backoffice/tasks/{task_id}/assignment      | la_task | page_assign | login 403 403 403 403 303 403 404 403 403 403 403 403 403 403 403 403
POST /backoffice/tasks/{task_id}/decision        | la_task_claimed | page_decision | login 403 403 303 403 409 404 404 403 403 403 403 403 403 403 403 403
POST /backoffice/tasks/{task_id}/information-request | la_task | page_information_request | login 403 403 303 403 303 404 404 403 403 403 403 403 403 403 403 403
POST /backoffice/tasks/{task_id}/notes           | la_task | page_note | login 403 403 303 303 303 404 404 403 403 403 403 403 403 403 403 403
# The environment inspection task: its inspector schedules the visit. ADR 0034: the step's
# role is required of supervisors too, and Erik is not an inspector (403).
POST /backoffice/tasks/{task_id}/inspections     | env_task | page_inspection | login 403 403 404 404 404 303 403 403 403 403 403 403 403 403 403 403
GET  /backoffice/tasks/{task_id}/documents/{document_id} | la | - | login 403 403 200 200 200 404 404 403 403 403 403 403 403 403 403 403
# staff case search and the one case view (ADR 0063): officers and supervisors of a department
# with a step on the case (every department has one on Alice's restaurant), auditors every case
# reviews of refusals (ADR 0059): the applicant asks on their own application's page (others:
# 404, as for the application); the refusing department's officers read the review and its
# document (other departments 404); the officer who refused may read but not decide (four-eyes),
# nor may an officer without the step's role; supervisors decide
GET  /applications/{application_id}/review      | alice | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /applications/{application_id}/review      | refused | review_request | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
GET  /backoffice/reviews                         | -     | - | login 403 403 200 200 200 200 200 403 403 403 403 403 403 403 403 403
GET  /backoffice/reviews/{review_id}             | -     | - | login 403 403 200 200 200 404 404 403 403 403 403 403 403 403 403 403
GET  /backoffice/reviews/{review_id}/document    | -     | - | login 403 403 200 200 200 404 404 403 403 403 403 403 403 403 403 403
POST /backoffice/reviews/{review_id}             | review | review_decision | login 403 403 403 403 303 404 404 403 403 403 403 403 403 403 403 403
GET  /backoffice/cases                           | -     | case_query | login 403 403 200 200 200 200 200 403 200 403 403 403 403 403 403 403
GET  /backoffice/cases/{application_id}          | alice | - | login 403 403 200 200 200 200 200 403 200 403 403 403 403 403 403 403
GET  /backoffice/supervision                     | -     | - | login 403 403 403 403 200 403 200 403 403 403 403 403 403 403 403 403
GET  /backoffice/services                        | -     | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
GET  /backoffice/services/{service_id}/versions/{version} | - | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
GET  /backoffice/rules/what-if                   | -     | what_if_query | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
GET  /backoffice/operations                      | -     | - | login 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403
POST /backoffice/operations/dead-letters/{dead_letter_id}/redrive | dead_letter | - | login 403 403 403 403 403 403 403 303 403 403 403 403 403 403 403 403
# Abandoning asks first (issue 19): the question page, operators only.
GET  /backoffice/operations/dead-letters/{dead_letter_id}/abandon | dead_letter | - | login 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403 403
POST /backoffice/operations/dead-letters/{dead_letter_id}/abandon | dead_letter | - | login 403 403 403 403 403 403 403 303 403 403 403 403 403 403 403 403
GET  /backoffice/audit                           | -     | - | login 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403
GET  /backoffice/audit/export.jsonl              | -     | - | login 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403
GET  /backoffice/audit/verification              | -     | - | login 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403 403
# the staff directory (ADR 0042): only a department administrator (no caller here is one; Hana's
# own grants are tried in tests/integration/identity/test_staff_directory.py)
GET  /backoffice/directory                       | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /backoffice/directory/grants                | -     | staff_grant | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /backoffice/directory/grants/{grant_id}/revoke | staff_grant | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403

# --- ux (issue 19): the fee e-mail's link goes on to the fee section of the page -------------
GET  /applications/{application_id}/pay          | alice | - | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
# The payer's receipt page: staff read payments through the API and back office, not here.
GET  /applications/{application_id}/receipt      | paid  | - | login 200 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404

# --- mandates (issue 17, ADR 0041): Alice, Golden Dragon's director, gives Carol (no column)
# a mandate; only a director the business register names may give one (Bob: 400, nothing
# written); nobody in the table is the delegate, so nobody may accept it; only its parties
# revoke it (Alice here; another citizen and staff are concealed, 404).
GET  /mandates                                   | self    | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /mandates                                   | -       | mandate_grant | login 303 400 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /mandates/{mandate_id}/accept               | mandate | - | login 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404
POST /mandates/{mandate_id}/revoke               | mandate | - | login 303 404 404 404 404 404 404 404 404 404 404 404 404 404 404 404

# --- funding statements (ADR 0040): the local-admin statement of the current month -----------
# A department's finance officer reads its own department only (Farah, labour: 404, existence
# does not leak); the platform owner reads every department; every other person and every
# machine key 403 (keys are never page users). Pages send anonymous callers to sign in; the
# CSV and PDF downloads are API-style (401).
GET  /backoffice/funding                         | -         | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 200 200 200
GET  /backoffice/funding/{department}/{month}    | statement | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 200 404 200
GET  /backoffice/funding/{department}/{month}/days | statement | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 200 404 200
GET  /backoffice/funding/{department}/{month}/statement.csv | statement | - | 401 403 403 403 403 403 403 403 403 403 403 403 403 403 200 404 200
GET  /backoffice/funding/{department}/{month}/statement.pdf | statement | - | 401 403 403 403 403 403 403 403 403 403 403 403 403 403 200 404 200
# --- the assisted channel (issue 17, ADR 0044): only a counter officer (no column: Mei) applies
# for someone at the counter and prints the receipt; every other person and key is refused
# (403; pages send anonymous callers to sign in). Taking a counter application over is the
# applicant's: without a code (the body here) Alice and Bob get the form back with the message
# by the field (400, nothing written); staff and keys 403. Adding the paper documents to a counter
# application is the counter officer's too (another department's counter officer: 404, and 409
# after the take-over, in tests/integration/portal/test_counter.py).
GET  /counter                                    | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /counter/services/{service_id}              | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /counter/services/{service_id}              | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /counter/receipts/{counter_id}/receipt.pdf  | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /counter/applications                       | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /counter/applications/{counter_id}/code     | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /counter/applications/{counter_id}/code     | -     | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
GET  /counter/applications/{counter_id}/documents | -    | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /counter/applications/{counter_id}/documents | -    | upload | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
# --- change requests (issue 20, ADR 0049): service owners, rule owners and the central quality
# gate (no column holds the last two: Ruth and Gabriel approve in tests/integration/governance).
# Sam drafts, edits, submits and withdraws his own changes; he may not approve his own (403,
# four-eyes). Everyone else, and every machine key, 403; pages send anonymous callers to sign in.
GET  /backoffice/changes                         | -      | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
POST /backoffice/changes                         | -      | change_draft | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
GET  /backoffice/changes/{change_id}             | -      | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/fields      | change | change_field | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/cells       | change | change_cells | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/sla         | change | change_sla | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/template    | change_template | change_text | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/upload      | change | change_upload | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/submit      | change_edited | change_submit | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/approve     | change_submitted | - | login 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/withdraw    | change | change_refusal | login 403 403 403 403 403 403 403 403 403 303 403 403 403 403 403 403
GET  /backoffice/changes/history/{service_id}    | -      | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
# The same change requests through the API (ADR 0049, "API"): the same people may do the same
# (Sam 200/201, his own change 403 to approve); anonymous 401. A department's key holding
# changes:read reads its department's changes (k+ 200); another department's key sees none of
# them (kx: an empty list, the change 404); no scope writes (every key 403 on a POST or PUT).
GET  /api/v1/change-requests                     | -      | - | 401 403 403 403 403 403 403 403 403 403 200 200 403 200 403 403 403
GET  /api/v1/change-requests/{change_id}         | change | - | 401 403 403 403 403 403 403 403 403 403 200 200 403 404 403 403 403
POST /api/v1/change-requests                     | -      | api_change_draft | 401 403 403 403 403 403 403 403 403 403 201 403 403 403 403 403 403
PUT  /api/v1/change-requests/{change_id}/files   | change | api_change_files | 401 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
POST /api/v1/change-requests/{change_id}/submission | change_edited | api_change_submit | 401 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
POST /api/v1/change-requests/{change_id}/approvals | change_submitted | api_change_approval | 401 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /api/v1/change-requests/{change_id}/withdrawal | change | api_change_withdrawal | 401 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
# in-flight applications (ADR 0058): governance roles read the dry run; only the owning
# department's service owner runs it or moves one back. Sam's change is a draft here: the page
# says it is not published, the run and moving back are refused with 409 (nothing moves).
GET  /backoffice/changes/{change_id}/migration   | change | - | login 403 403 403 403 403 403 403 403 403 200 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/migration   | change | - | login 403 403 403 403 403 403 403 403 403 409 403 403 403 403 403 403
POST /backoffice/changes/{change_id}/migration/back | change | - | login 403 403 403 403 403 403 403 403 403 409 403 403 403 403 403 403
GET  /claim                                      | self  | - | login 200 200 403 403 403 403 403 403 403 403 403 403 403 403 403 403
POST /claim                                      | -     | - | login 400 400 403 403 403 403 403 403 403 403 403 403 403 403 403 403

# --- the capability catalogue (issue 20, ADR 0051): read by who composes, runs and oversees
# services (service owner, operator, auditor, platform owner; department administrators too, no
# column here); officers, supervisors, finance officers, applicants and machine keys 403 (the
# contracts say how departments' systems are reached, which none of them needs).
GET  /api/v1/capabilities                        | -     | - | 401 403 403 403 403 403 403 403 200 200 200 403 403 403 403 403 200
GET  /api/v1/capabilities/{capability_id}        | -     | - | 401 403 403 403 403 403 403 403 200 200 200 403 403 403 403 403 200
GET  /backoffice/capabilities                    | -     | - | login 403 403 403 403 403 403 403 200 200 200 403 403 403 403 403 200
GET  /backoffice/capabilities/{capability_id}    | -     | - | login 403 403 403 403 403 403 403 200 200 200 403 403 403 403 403 200
"""


def rows() -> list[tuple[str, str, str, str, dict[str, str]]]:
    """(method, path, object kind, body, {caller: expected}) for every line of the table."""
    parsed = []
    for line in TABLE.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        route, kind, body, cells = (part.strip() for part in line.split("|"))
        method, path = route.split()
        values = cells.split()
        assert len(values) == len(COLUMNS), f"{route}: {len(values)} cells"
        parsed.append((method, path, kind, body, dict(zip(COLUMNS, values, strict=True))))
    return parsed


# What a permitted read must not show: (method, path) -> {caller: ids of objects that are not
# theirs}. The ids are keys of the world (``tests/security/world.py``): ``task_id`` is the
# local-admin licensing task, ``env_task_id`` the environment inspection task,
# ``application_id`` Alice's application.
LEAKS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("GET", "/api/v1/tasks"): {
        "olivia": ("env_task_id",),
        "otto": ("env_task_id",),
        "grace": ("env_task_id",),
        "k+": ("env_task_id",),
        "elena": ("task_id",),
        "erik": ("task_id",),
        "kx": ("task_id",),
    },
    ("GET", "/backoffice/tasks"): {
        "olivia": ("env_task_id",),
        "otto": ("env_task_id",),
        "grace": ("env_task_id",),
        "elena": ("task_id",),
        "erik": ("task_id",),
    },
    ("GET", "/backoffice/supervision"): {"grace": ("env_task_id",), "erik": ("task_id",)},
    ("GET", "/applications"): {"bob": ("application_id",)},
    ("GET", "/api/v1/me/inbox"): {"bob": ("application_id",)},
    ("GET", "/inbox"): {"bob": ("application_id",)},
    ("GET", "/consents"): {"bob": ("consent_id",)},
}
