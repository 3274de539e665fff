// A real OpenID Connect provider for the sign-in tests: panva/oidc-provider with its built-in
// login and consent pages (any password; the login names the account).
//   node provider.mjs <port> <config.json>
// config.json: {"clients": [{client_id, client_secret, redirect_uris}], "accounts_file": "..."}
// The accounts file ({"alice": {"email": ..., "name": ..., "groups": [...]}}) is read again at each
// sign-in, so a test changes what the provider says about a person by rewriting it.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const [port, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const issuer = `http://127.0.0.1:${port}`;

const accounts = () => JSON.parse(readFileSync(config.accounts_file, "utf8"));

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_post",
    ...client,
  })),
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  pkce: { required: () => false },
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), "127.0.0.1", () => console.log(`oidc provider on ${issuer}`));
