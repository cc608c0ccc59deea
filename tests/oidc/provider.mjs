// A real OpenID provider for the tests: npm `oidc-provider` with one confidential client.
//
//   OIDC_CLIENT='{"client_id":"civicloom","client_secret":"...","redirect_uris":[...],
//                 "post_logout_redirect_uris":[...]}' node tests/oidc/provider.mjs
//
// Listens on 127.0.0.1 and a free port, then prints "PORT <n>" on stdout. The built-in
// development interaction accepts any login and password; the login becomes the subject.
// Logins listed in OIDC_ACCOUNTS ('{"tariq": {"name": "...", "roles": [...],
// "department": "tax"}}') get those claims (also "groups" and "email"). With OIDC_ACCOUNTS_FILE
// the accounts are read from that JSON file at every sign-in, so a test can change a person's
// claims between two sign-ins. Citizens' "business_mandates" (registration numbers) are passed
// through as the national eID's representation claim; the platform checks each at the register.
// Consent is granted automatically (first party).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const client = JSON.parse(process.env.OIDC_CLIENT ?? '{}');
const fixedAccounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}');
const accountsFile = process.env.OIDC_ACCOUNTS_FILE;
const accountsNow = () => (accountsFile ? JSON.parse(readFileSync(accountsFile, 'utf8')) : fixedAccounts);

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    }],
    pkce: { required: () => true },
    cookies: { keys: ['civicloom-test-provider-cookie-key'] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'business_mandates'],
      email: ['email'],
      roles: ['roles', 'department', 'groups'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, id) {
      const extra = accountsNow()[id] ?? {};
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            name: extra.name ?? `Test ${id}`,
            preferred_username: id,
            ...(extra.roles ? { roles: extra.roles } : {}),
            ...(extra.department ? { department: extra.department } : {}),
            ...(extra.groups ? { groups: extra.groups } : {}),
            ...(extra.email ? { email: extra.email } : {}),
            ...(extra.business_mandates ? { business_mandates: extra.business_mandates } : {}),
          };
        },
      };
    },
  });
  provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
  server.on('request', provider.callback());
  console.log(`PORT ${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
