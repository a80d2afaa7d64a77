// A real OpenID provider for the tests: the certified `oidc-provider` package with its development sign-in page.
//
//   node server.mjs            (environment: OIDC_TEST_PORT, OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET,
//                               OIDC_TEST_REDIRECT_URIS: comma-separated callback URLs of the registry)
//
// Anyone may sign in with any password. The login names the person:
//   "ada@council.example"             -> email ada@council.example, email_verified true
//   "unverified:ada@council.example"  -> the same email, email_verified false
// Consent is given automatically for the one registered client (it stands for an organisation's own registry).
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_TEST_PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.OIDC_TEST_CLIENT_ID || 'sharing-registry';
const clientSecret = process.env.OIDC_TEST_CLIENT_SECRET || 'test-secret-not-for-production';
const redirectUris = (process.env.OIDC_TEST_REDIRECT_URIS || '').split(',').filter(Boolean);

function person(login) {
  const unverified = login.startsWith('unverified:');
  const email = unverified ? login.slice('unverified:'.length) : login;
  const local = email.split('@')[0] || email;
  return { email, email_verified: !unverified, name: local.charAt(0).toUpperCase() + local.slice(1) };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'email', 'profile'],
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-key-one', 'test-only-cookie-key-two'] },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, ...person(sub) };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.session?.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
