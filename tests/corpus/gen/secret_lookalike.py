#!/usr/bin/env python3
"""Generate tests/corpus/secret_lookalike.jsonl: memory notes that look like
they might hold a secret but do not, and that the content guard must accept.

Categories: placeholders and redacted values, vendor documentation example
keys, references to a secret store instead of a value, prose about passwords
and key rotation, high-entropy identifiers that are not credentials (git SHAs,
UUIDs, lockfile digests, image digests, public keys and certificates, base64 of
ordinary text), URLs with a user but no password or with a placeholder
password, token prefixes mentioned in prose, and public-by-design identifiers.

Deterministic: stdlib only, fixed seed, byte-identical output on every run.
All text is written for this project.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Corpus, note  # noqa: E402

FAMILY = "secret_lookalike"
SEED = 0x100C411E
R = random.Random(SEED)

HEX = "0123456789abcdef"
ALNUM = string.ascii_letters + string.digits
NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"


def rs(alpha, n):
    return "".join(R.choice(alpha) for _ in range(n))


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def sha1():
    return rs(HEX, 40)


def sha256():
    return rs(HEX, 64)


def uuid4():
    h = list(rs(HEX, 32))
    h[12] = "4"
    h[16] = R.choice("89ab")
    s = "".join(h)
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"


def b64(b):
    return base64.b64encode(b).decode()


def wrap(t, w=64):
    return "\n".join(t[i:i + w] for i in range(0, len(t), w))


C = Corpus(FAMILY)
REASONS = [
    "Record the project fact confirmed during this task.",
    "Keep the convention so later changes follow it.",
    "Save this so the next run does not have to rediscover it.",
    "Remember the user's stated preference.",
    "Store the reference for quick lookup in future runs.",
    "Note what we agreed on today.",
]

SRC_AWS_EX = "https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html"
SRC_12F = "https://12factor.net/config"
SRC_GH_TOK = "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/"


def case(slug, typ, desc, body, what, why, src=None):
    C.add(slug, note=note(what, src, "Not a secret: " + why), reasoning=R.choice(REASONS), name=slug,
          type=typ, description=desc, body=body)


# ---------------------------------------------------------------------------
# 1. Placeholders and redacted values
# ---------------------------------------------------------------------------
case("aws-placeholder-x", "reference", "Template for ~/.aws/credentials in the onboarding doc",
     "Onboarding doc template (new hires fill in their own):\n\n```ini\n[default]\naws_access_key_id = AKIAXXXXXXXXXXXXXXXX\n"
     "aws_secret_access_key = <your-secret-access-key>\nregion = eu-west-1\n```",
     "AWS credentials file with an all-X key id and a placeholder secret", "all-X placeholder, no key material.", SRC_AWS_EX)
case("ghp-placeholder-x", "reference", "README snippet showing how to pass a GitHub token to the release script",
     "README shows:\n\n```sh\nGITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ./scripts/release.sh\n```\n\n"
     "Users replace the x's with their own token; the script only needs `contents:write`.",
     "GitHub classic PAT prefix followed by 36 x's", "placeholder; the checksum would not validate and there is no entropy.", SRC_GH_TOK)
case("stripe-masked-dashboard", "project", "Which Stripe key billing-api uses (masked as shown in the dashboard)",
     "billing-api uses the restricted live key whose dashboard label is `billing-api-prod`. The dashboard shows it masked as "
     "`sk_live_••••••••••••••••••••3f9Q` / in the audit CSV as `sk_live_************************`. The value itself lives "
     "only in AWS Secrets Manager under `prod/billing/stripe`.",
     "Stripe secret key masked with bullets/asterisks", "masked display; only the last four characters are visible.",
     "https://docs.stripe.com/keys")
case("your-token-curl", "reference", "curl template for the internal jobs API",
     "```sh\ncurl -H \"Authorization: Bearer <your-token>\" https://api.internal.example.com/v1/jobs\n```\n\n"
     "Get a personal token from the portal's Tokens page; they expire after 30 days.",
     "Bearer header with <your-token> placeholder", "angle-bracket placeholder.")
case("your-api-key-python", "reference", "OpenAI client quickstart used in the workshop slides",
     "```python\nfrom openai import OpenAI\n\nclient = OpenAI(api_key=\"YOUR_API_KEY\")  # participants paste their own\n```",
     "YOUR_API_KEY placeholder in a code sample", "literal placeholder string.")
case("changeme-default", "project", "docker-compose default admin password must be overridden",
     "The local compose file ships `ADMIN_PASSWORD: changeme` as a default so the stack boots. Startup refuses to run with "
     "`APP_ENV=production` while the value is still `changeme`; that check is in `src/boot.rs`.",
     "changeme default password", "well-known placeholder default that the app refuses in production.")
case("env-var-interpolation", "reference", "Compose file reads DB password from the environment",
     "```yaml\nservices:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
     "      POSTGRES_USER: ${DB_USER:-app}\n```\n\nSet `DB_PASSWORD` in your shell or in the untracked `.env`.",
     "${DB_PASSWORD} interpolation", "reference to an environment variable, no value.",
     "https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/")
case("cat-secret-subshell", "reference", "Entrypoint loads the API token from a Docker secret file",
     "```sh\n#!/bin/sh\nexport API_TOKEN=\"$(cat /run/secrets/api_token)\"\nexec /app/server\n```\n\n"
     "The secret is mounted by Swarm; nothing is baked into the image.",
     "$(cat secret) command substitution", "the value is read at runtime from a mounted file.",
     "https://docs.docker.com/engine/swarm/secrets/")
case("helm-values-template", "reference", "Helm template renders the DB password from values",
     "```yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\nstringData:\n"
     "  password: {{ .Values.password | quote }}\n```\n\nThe real value is passed with `--set-file` from the CI secret store.",
     "Helm template {{ .Values.password }}", "Go template expression, not a value.", "https://helm.sh/docs/chart_template_guide/values_files/")
case("configparser-interpolation", "reference", "configparser interpolation used in the legacy alembic.ini",
     "```ini\n[alembic]\nsqlalchemy.url = postgresql://%(user)s:%(password)s@%(host)s/%(dbname)s\n```\n\n"
     "`env.py` fills `user`, `password`, `host`, `dbname` from environment variables before alembic parses the file.",
     "%(password)s interpolation", "configparser placeholders.", "https://docs.python.org/3/library/configparser.html#interpolation-of-values")
case("os-environ-key", "project", "ingest service reads its API key from the environment",
     "```python\nimport os\n\nAPI_KEY = os.environ[\"API_KEY\"]  # KeyError at startup if unset, on purpose\n```",
     "os.environ[\"API_KEY\"] lookup", "reads an environment variable; no literal.", SRC_12F)
case("process-env-stripe", "project", "Next.js route reads the Stripe key from process.env",
     "`app/api/checkout/route.ts` creates the client with `new Stripe(process.env.STRIPE_KEY!, { apiVersion: '2024-06-20' })`. "
     "Vercel injects `STRIPE_KEY` per environment.",
     "process.env.STRIPE_KEY", "environment lookup.", SRC_12F)
case("gha-secrets-expression", "project", "npm publish step takes the token from repository secrets",
     "```yaml\n- run: npm publish --provenance\n  env:\n    NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n```",
     "GitHub Actions ${{ secrets.NPM_TOKEN }} expression", "reference to an Actions secret.",
     "https://docs.github.com/en/actions/security-for-github-actions/security-guides/using-secrets-in-github-actions")
case("onepassword-ref", "user", "User keeps secrets in 1Password and uses op:// references",
     "The user keeps every credential in 1Password and wants `.env` files to contain references only, e.g.\n\n"
     "```env\nDATABASE_PASSWORD=op://Engineering/Postgres Prod/password\nSTRIPE_SECRET_KEY=op://Engineering/Stripe/secret key\n```\n\n"
     "Run commands through `op run --env-file=.env -- make dev`.",
     "1Password secret references", "op:// URIs point into the vault; no values.", "https://developer.1password.com/docs/cli/secret-references/")
case("k8s-secretkeyref", "reference", "Deployment reads the DB password via secretKeyRef",
     "```yaml\nenv:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: ledger-db\n        key: password\n```",
     "Kubernetes secretKeyRef", "names a Secret object, carries no value.", "https://kubernetes.io/docs/concepts/configuration/secret/")
case("redacted-log", "project", "Auth failure log excerpt from the staging gateway (redacted)",
     "Log line from the gateway during the outage:\n\n```\n2024-10-02T11:04:17Z WARN auth: upstream rejected request "
     "user=svc-reports password=******** token=[REDACTED] status=401\n```\n\nThe logger's redaction filter worked as intended.",
     "Redacted log with ******** and [REDACTED]", "values masked by the logger.")
case("bearer-redacted", "reference", "Request that reproduces the 403 (token redacted)",
     "```http\nPOST /v2/exports HTTP/1.1\nHost: api.example.com\nAuthorization: Bearer [REDACTED]\nContent-Type: application/json\n```\n\n"
     "Any token without `exports:write` scope reproduces it.",
     "Authorization header with [REDACTED]", "redacted value.")
case("terraform-sensitive-var", "reference", "Terraform declares db_password as a sensitive variable",
     "```hcl\nvariable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"aws_db_instance\" \"main\" {\n"
     "  password = var.db_password\n}\n```\n\nThe value comes from `TF_VAR_db_password` in CI.",
     "Terraform variable reference var.db_password", "reference, no literal.",
     "https://developer.hashicorp.com/terraform/language/values/variables#suppressing-values-in-cli-output")
case("ansible-vault-var", "reference", "Ansible role uses a vault-prefixed variable for the password",
     "`roles/db/tasks/main.yml` sets `password: \"{{ vault_db_password }}\"`; the `vault_` variables live in "
     "`group_vars/all/vault.yml`, which is encrypted with ansible-vault.",
     "Jinja reference to an ansible-vault variable", "template expression only.",
     "https://docs.ansible.com/ansible/latest/vault_guide/index.html")
case("angle-password-url", "reference", "MySQL URI format for the reporting tool",
     "The reporting tool wants a URI: `mysql://reporter:<PASSWORD>@reports-db.internal:3306/reports`. Fill in the password "
     "from the secret store at run time; the tool does not read env vars.",
     "URI with <PASSWORD> placeholder", "placeholder in angle brackets.")
case("slack-fake-token", "reference", "Slack SDK test fixture token is deliberately fake",
     "Unit tests build the client with `token=\"xoxb-not-a-real-token\"` and a mocked HTTP transport, so nothing leaves the "
     "machine. Integration tests are skipped unless `SLACK_BOT_TOKEN` is set.",
     "Obviously fake Slack bot token in test fixtures", "literal says it is not real and has no token structure.",
     "https://api.slack.com/authentication/token-types")
case("vault-path-ref", "project", "Service config points its API key at a Vault path",
     "```yaml\nintegrations:\n  payments:\n    api_key: vault:secret/data/prod/payments#api_key\n    timeout: 10s\n```\n\n"
     "The sidecar resolves `vault:` references at start-up.",
     "api_key pointing at a Vault path", "a path into Vault, not the key.", "https://developer.hashicorp.com/vault/docs/secrets/kv/kv-v2")
case("ssm-parameter-name", "reference", "SSM parameter names used by billing-api",
     "billing-api reads these SSM parameters (SecureString) at boot:\n\n- `/prod/billing/stripe_secret_key`\n- `/prod/billing/db_password`\n"
     "- `/prod/billing/webhook_signing_secret`\n\nIAM role `billing-api-task` has `ssm:GetParameters` on `/prod/billing/*`.",
     "Parameter Store names", "names only, no values.", "https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-parameter-store.html")
case("key-last-four", "project", "Which OpenAI key the eval job uses (identified by last four characters)",
     "The eval job uses the project key named `evals-ci` (shown as `sk-...J7qc` in the dashboard). If it is revoked, create a new "
     "one in the same project and update the CI secret `OPENAI_API_KEY`.",
     "Key identified only by prefix and last four characters", "truncated identifier, not usable.")
case("env-example-empty", "reference", ".env.example lists required variables with empty values",
     "```env\n# copy to .env and fill in\nDATABASE_URL=\nSTRIPE_SECRET_KEY=\nSENTRY_DSN=\nSESSION_SECRET=\n```",
     ".env.example with empty values", "variable names only.", SRC_12F)
case("sops-encrypted", "project", "Secrets file is committed encrypted with sops",
     "`secrets.enc.yaml` is committed encrypted with sops + age; values look like\n\n```yaml\ndb_password: ENC[AES256_GCM,data:"
     f"{b64(rbytes(18))},iv:{b64(rbytes(32))},tag:{b64(rbytes(16))},type:str]\n```\n\nDecrypt with `sops -d` using your own age identity.",
     "sops ENC[...] ciphertext", "encrypted value; useless without the age identity.", "https://github.com/getsops/sops#encrypting-using-age")
case("dots-password", "user", "User wants password fields rendered as dots in the CLI prompt",
     "Preference: interactive prompts in the CLI should echo password input as `••••••` rather than nothing, so the user can "
     "see that typing registered. Use `rpassword` with a custom echo callback.",
     "Masked input rendering", "describes UI masking, no password.")

# ---------------------------------------------------------------------------
# 2. Vendor documentation example keys
# ---------------------------------------------------------------------------
case("aws-docs-example-pair", "reference", "AWS documentation example credentials used in our docs",
     "Our docs use AWS's own published example pair so nobody pastes a real key:\n\n```ini\n[example]\n"
     "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n```",
     "AWS documented example access key pair", "these are the example values from the AWS documentation.", SRC_AWS_EX)
case("aws-docs-example-configure", "reference", "aws configure transcript for the tutorial",
     "Tutorial transcript (values are the AWS documentation examples):\n\n```text\n$ aws configure\nAWS Access Key ID [None]: "
     "AKIAIOSFODNN7EXAMPLE\nAWS Secret Access Key [None]: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nDefault region name [None]: us-west-2\n"
     "Default output format [None]: json\n```",
     "AWS documented example key in an aws configure transcript", "documentation example values.",
     "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html")
case("aws-docs-example-test", "project", "Moto-based tests use the AWS example key id",
     "The S3 tests run against moto and set `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE` so boto3 never picks up a developer's real "
     "profile. Keep it that way.",
     "AWS documented example key id in test setup", "documentation example value.", SRC_AWS_EX)

# ---------------------------------------------------------------------------
# 3. Prose about passwords, rotation and policy
# ---------------------------------------------------------------------------
case("rotation-runbook", "reference", "Runbook: rotating the Stripe secret key without downtime",
     "1. Create a new restricted key in the Stripe dashboard with the same permissions.\n2. Store it in Secrets Manager as a new "
     "version of `prod/billing/stripe`.\n3. Roll the billing-api deployment; pods read the secret at start-up.\n"
     "4. Watch for 401s for 15 minutes, then revoke the old key.\n\nNever paste the key into tickets or chat.",
     "Key-rotation runbook", "describes a procedure; contains no key.", "https://docs.stripe.com/keys#rolling-keys")
case("password-policy", "project", "Password policy agreed for the customer portal",
     "Portal password policy (agreed with security on 2024-05-14): minimum 12 characters, no composition rules, check against a "
     "breached-password list, no forced periodic rotation, lockout after 10 failures for 15 minutes. Store with argon2id.",
     "Password policy prose", "policy description; no password.", "https://pages.nist.gov/800-63-3/sp800-63b.html")
case("pw-manager-preference", "user", "User never wants secrets pasted into chat",
     "The user uses Bitwarden for every credential and asked me to never echo, paste or store secrets in notes. If a task needs "
     "a credential, ask them to export it into the shell session instead.",
     "Preference about handling secrets", "no secret present.")
case("rotated-key-note", "project", "SendGrid key rotated after the contractor left",
     "Rotated the SendGrid API key on 2024-08-19 after the contractor's access ended. New key is in Vault at "
     "`secret/mail/sendgrid`; the old one was deleted in the SendGrid console. Transactional mail verified afterwards.",
     "Rotation note pointing at a Vault path", "no key material.")
case("expired-token-401", "feedback", "401 from GitHub was an expired token, user regenerated it",
     "The release job failed with `401 Bad credentials` because the user's fine-grained token expired (90-day expiry). They "
     "created a new one themselves and updated the repo secret. Next time, check expiry before debugging scopes.",
     "Troubleshooting prose about an expired token", "mentions tokens, contains none.")
case("postmortem-leak", "reference", "Postmortem summary: API key committed to a public fork",
     "Summary: a contributor's fork briefly contained a `.env` with a Mapbox secret token. GitHub secret scanning alerted us; "
     "the token was revoked within 20 minutes. Actions: pre-commit hook, `.env` in the template's .gitignore, token scopes reduced.",
     "Incident postmortem about a leaked key", "discusses a leak without reproducing it.",
     "https://docs.github.com/en/code-security/secret-scanning/introduction/about-secret-scanning")
case("jwt-structure-explained", "reference", "How our session JWTs are structured",
     "Our session tokens are JWTs: base64url header (always starts with `eyJ` because it is JSON), payload with `sub`, `org`, "
     "`exp`, and an ES256 signature. Tokens live 15 minutes; refresh tokens are opaque and stored server-side.",
     "Explanation of JWT structure", "mentions the eyJ prefix only.", "https://www.rfc-editor.org/rfc/rfc7519")
case("oauth-flow-notes", "reference", "OAuth setup: which values are public and which are secret",
     "For the Google login: the client ID is public and is embedded in the frontend; the client secret is confidential and is only "
     "in the backend's secret store (`GOOGLE_CLIENT_SECRET`). Redirect URI: `https://app.example.com/auth/callback`.",
     "OAuth configuration prose", "names the secret, does not contain it.", "https://developers.google.com/identity/protocols/oauth2")
case("passwordless-login", "project", "Customer portal moves to passwordless login",
     "Decision: the portal moves to passwordless login (email magic links + passkeys). Existing password hashes are kept for 90 "
     "days for fallback, then dropped. Tracking issue PORTAL-212.",
     "Passwordless login decision", "product decision; no credentials.", "https://www.w3.org/TR/webauthn-2/")
case("reset-password-flow", "project", "Password reset token lifetime and storage",
     "Password reset links carry a random 32-byte token; only its SHA-256 is stored in `password_resets.token_hash`. Links "
     "expire after 30 minutes and are single use.",
     "Design of password-reset tokens", "describes storage, contains no token.")
case("secret-scanning-ci", "project", "CI runs a secret scanner on every pull request",
     "A secret-scanning step runs on every PR and fails the build on a finding. False positives are suppressed with an inline "
     "`# scanner:allow` comment plus a reviewer's approval; nobody may disable the step.",
     "Prose about secret scanning", "no secret.")
case("hunter-meme-avoid", "feedback", "Don't use joke passwords in test fixtures",
     "Feedback from review: test fixtures should generate passwords with `Faker` instead of hard-coding joke values, so the "
     "scanner doesn't flag fixtures and nobody copies them into real configs.",
     "Review feedback about fixtures", "no password.")

# ---------------------------------------------------------------------------
# 4. Key names without values / schemas
# ---------------------------------------------------------------------------
case("env-var-inventory", "reference", "Environment variables the worker needs and where to get them",
     "| variable | where it comes from |\n|---|---|\n| `DATABASE_URL` | Terraform output `db_url` (Secrets Manager) |\n"
     "| `STRIPE_SECRET_KEY` | Stripe dashboard, restricted key `worker` |\n| `SENTRY_AUTH_TOKEN` | Sentry org settings |\n"
     "| `REDIS_PASSWORD` | ElastiCache auth token in Secrets Manager |",
     "Inventory of secret variable names", "names only.", SRC_12F)
case("pydantic-secretstr", "reference", "Settings model keeps secrets as SecretStr",
     "```python\nclass Settings(BaseSettings):\n    api_key: SecretStr\n    db_password: SecretStr\n    debug: bool = False\n```\n\n"
     "`SecretStr` keeps the values out of reprs and logs.",
     "Pydantic settings schema", "type declarations, no values.", "https://docs.pydantic.dev/latest/api/types/#pydantic.types.SecretStr")
case("rust-secretstring", "project", "Config struct wraps credentials in SecretString",
     "```rust\n#[derive(Deserialize)]\npub struct DbConfig {\n    pub host: String,\n    pub user: String,\n"
     "    pub password: SecretString,\n}\n```\n\nUse `expose_secret()` only at the connection call site.",
     "Rust struct with a password field", "field declaration only.", "https://docs.rs/secrecy/latest/secrecy/")
case("json-schema-password", "reference", "JSON schema for the connector config",
     "```json\n{\n  \"type\": \"object\",\n  \"required\": [\"host\", \"username\", \"password\"],\n  \"properties\": {\n"
     "    \"host\": {\"type\": \"string\"},\n    \"username\": {\"type\": \"string\"},\n"
     "    \"password\": {\"type\": \"string\", \"writeOnly\": true}\n  }\n}\n```",
     "JSON schema with a password property", "schema, no value.", "https://json-schema.org/draft/2020-12/json-schema-validation#name-readonly-and-writeonly")
case("html-password-input", "project", "Login form markup after the accessibility fix",
     "```html\n<label for=\"pw\">Password</label>\n<input id=\"pw\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n```",
     "HTML password input", "form field markup.", "https://developer.mozilla.org/en-US/docs/Web/HTML/Element/input/password")
case("token-response-shape", "reference", "Shape of the OAuth token response our client parses",
     "The client parses `{\"access_token\": \"...\", \"token_type\": \"Bearer\", \"expires_in\": 3600, \"refresh_token\": \"...\"}` "
     "and refreshes 60 seconds before `expires_in` runs out.",
     "OAuth token response shape with elided values", "values elided with ...", "https://www.rfc-editor.org/rfc/rfc6749#section-5.1")
case("curl-env-vars", "reference", "curl against the admin API using shell variables",
     "```sh\ncurl -u \"$ADMIN_USER:$ADMIN_PASS\" https://admin.internal.example.com/api/health\ncurl -H \"Authorization: Bearer $TOKEN\" "
     "https://api.example.com/me\n```",
     "curl with credentials from shell variables", "variables, not literals.")
case("password-min-length-const", "project", "Password length constants in the auth crate",
     "```rust\npub const PASSWORD_MIN_LENGTH: usize = 12;\npub const PASSWORD_MAX_LENGTH: usize = 128;\n"
     "pub const TOKEN_TTL_SECS: u64 = 900;\n```",
     "Password-related constants", "numbers only.")

# ---------------------------------------------------------------------------
# 5. High-entropy identifiers that are not credentials
# ---------------------------------------------------------------------------
s1, s2, s3 = sha1(), sha1(), sha1()
case("git-shas", "project", "Commits that introduced and fixed the cache regression",
     f"- Regression introduced in `{s1}` (cache key no longer included the locale).\n- Fixed in `{s2}`; cherry-picked to "
     f"release/2.4 as `{s3[:12]}`.\n- Bisect log is attached to issue #812.",
     "git commit SHAs", "SHA-1 object ids are public content hashes.", "https://git-scm.com/book/en/v2/Git-Internals-Git-Objects")
case("tenant-uuids", "reference", "Tenant ids used in the staging seed data",
     f"Seed tenants on staging:\n\n- acme: `{uuid4()}`\n- globex: `{uuid4()}`\n- initech: `{uuid4()}`",
     "UUIDv4 identifiers", "random identifiers, not authenticators.", "https://www.rfc-editor.org/rfc/rfc9562")
case("cargo-lock-checksum", "project", "Cargo.lock entry for the pinned serde version",
     f"```toml\n[[package]]\nname = \"serde\"\nversion = \"1.0.210\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
     f"checksum = \"{sha256()}\"\n```\n\nPinned because 1.0.211 broke our derive on nightly.",
     "Cargo.lock sha256 checksum", "content digest of a public crate.", "https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html")
case("npm-integrity", "reference", "package-lock integrity hash for the vendored left-pad fork",
     f"```json\n\"node_modules/left-pad\": {{\n  \"version\": \"1.3.0\",\n  \"resolved\": \"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz\",\n"
     f"  \"integrity\": \"sha512-{b64(rbytes(64))}\"\n}}\n```",
     "npm lockfile integrity (SRI sha512, base64)", "hash of a public tarball.", "https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json")
case("docker-digest", "project", "Pinned base image digest for the runtime image",
     f"Runtime image is pinned by digest:\n\n```dockerfile\nFROM gcr.io/distroless/cc-debian12@sha256:{sha256()}\n```\n\nBump it with Renovate, not by hand.",
     "Docker image digest", "content address of a public image.", "https://docs.docker.com/reference/cli/docker/image/pull/#pull-an-image-by-digest-immutable-identifier")
case("go-sum", "reference", "go.sum lines for the pinned x/crypto",
     f"```\ngolang.org/x/crypto v0.27.0 h1:{b64(rbytes(32))}\ngolang.org/x/crypto v0.27.0/go.mod h1:{b64(rbytes(32))}\n```",
     "go.sum h1: hashes", "module content hashes.", "https://go.dev/ref/mod#go-sum-files")
case("release-sha256", "reference", "Checksums published with the v2.4.0 release",
     f"```\n{sha256()}  memwarden-2.4.0-x86_64-unknown-linux-gnu.tar.gz\n{sha256()}  memwarden-2.4.0-aarch64-apple-darwin.tar.gz\n```\n\n"
     "Verify with `sha256sum -c SHA256SUMS` before installing.",
     "Release SHA-256 checksums", "public file digests.")
hello = "Quarterly report ready for review"
case("base64-plain-text", "reference", "Test fixture: base64 of an ordinary sentence",
     f"The decoder test uses `{b64(hello.encode())}`, which is base64 for \"{hello}\", plus the empty string and a 3-byte "
     "input to cover padding.",
     "base64 of ordinary text", "decodes to a plain English sentence.", "https://www.rfc-editor.org/rfc/rfc4648")
FLAGS_JSON = b'{"new_checkout":true,"dark_mode":false,"beta_banner":true}'
case("base64-json-config", "project", "Feature-flag blob passed through an env var is base64 JSON",
     f"`FLAGS_B64` carries the feature flags as base64 JSON, e.g. `{b64(FLAGS_JSON)}` "
     "decodes to three booleans. Parsing lives in `flags.rs`.",
     "base64-encoded non-secret JSON", "decodes to feature flags.")
case("css-colours", "project", "Brand colours from the design system",
     "```css\n:root {\n  --brand-primary: #1f6feb;\n  --brand-accent: #f78166;\n  --surface: #0d1117;\n  --text-muted: #8b949e;\n"
     "  --focus-ring: #a371f7aa;\n}\n```",
     "CSS hex colours", "colour values.")
case("nix-store-paths", "reference", "Nix store paths of the pinned toolchain",
     f"`/nix/store/{rs(NIX32, 32)}-rust-1.81.0` and `/nix/store/{rs(NIX32, 32)}-openssl-3.0.14` are the paths in the current "
     "flake.lock closure; CI caches them in Cachix.",
     "Nix store paths", "hash prefixes are content addresses.", "https://nix.dev/manual/nix/2.18/store/store-path")
case("webpack-chunk-hashes", "project", "Built asset names after the bundle split",
     f"After the split the build emits `main.{rs(HEX, 8)}.js`, `vendor.{rs(HEX, 8)}.js` and `styles.{rs(HEX, 8)}.css`; "
     "the hashes change only when content changes, so CDN caching can be long.",
     "Content-hashed filenames", "build hashes.")
case("trace-ids", "reference", "Trace ids of the slow checkout requests",
     f"Slow checkouts from the incident window:\n\n- traceparent `00-{rs(HEX, 32)}-{rs(HEX, 16)}-01`\n- traceparent "
     f"`00-{rs(HEX, 32)}-{rs(HEX, 16)}-01`\n\nBoth spend 4 s in the tax service.",
     "W3C trace context ids", "random correlation ids.", "https://www.w3.org/TR/trace-context/")
SSH_PUB = b64(struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + rbytes(32))
case("ssh-public-key", "reference", "Public key to add to the bastion's authorized_keys",
     f"Add this **public** key for the new CI runner:\n\n```\nssh-ed25519 {SSH_PUB} ci-runner@build-7\n```",
     "OpenSSH public key", "a public key is meant to be shared.", "https://man.openbsd.org/sshd.8#AUTHORIZED_KEYS_FILE_FORMAT")
case("ssh-host-fingerprint", "reference", "Expected SSH host key fingerprint for the bastion",
     f"First connect should show `ED25519 key fingerprint is SHA256:{b64(rbytes(32)).rstrip('=')}`. Anything else: stop and ask.",
     "SSH host key fingerprint", "fingerprint of a public key.")
case("pgp-fingerprint", "reference", "Release signing key fingerprint",
     f"Releases are signed by `{' '.join(rs('0123456789ABCDEF', 4) for _ in range(10))}`; the public key is on keys.openpgp.org.",
     "OpenPGP fingerprint", "identifies a public key.", "https://www.rfc-editor.org/rfc/rfc4880#section-12.2")
cert_body = wrap(b64(bytes.fromhex("308203") + rbytes(R.randint(700, 760))))
case("x509-certificate", "reference", "Internal CA certificate to trust in the test containers",
     f"Add the internal CA (public certificate) to the test images:\n\n```\n-----BEGIN CERTIFICATE-----\n{cert_body}\n-----END CERTIFICATE-----\n```",
     "PEM X.509 certificate", "certificates are public.", "https://www.rfc-editor.org/rfc/rfc7468#section-5")
pub_body = wrap(b64(bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04" + rbytes(64)))
case("pem-public-key", "reference", "Public key used to verify webhook signatures",
     f"Verify webhook signatures with this ECDSA public key:\n\n```\n-----BEGIN PUBLIC KEY-----\n{pub_body}\n-----END PUBLIC KEY-----\n```",
     "PEM SubjectPublicKeyInfo", "public key.", "https://www.rfc-editor.org/rfc/rfc7468#section-13")
case("age-recipient", "reference", "age recipient (public key) for encrypting backups",
     f"Backups are encrypted to the recipient `age1{rs('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 58)}`. The matching identity is on the "
     "offline laptop only.",
     "age recipient public key", "recipients are public keys.", "https://age-encryption.org/v1")
case("s3-etag", "reference", "S3 ETags used to confirm the re-upload",
     f"Re-uploaded exports match: ETag `\"{rs(HEX, 32)}\"` for january.parquet and `\"{rs(HEX, 32)}-4\"` for the multipart february.parquet.",
     "S3 ETags (MD5-based)", "object checksums.")
case("ulid-request-ids", "project", "Request ids of the failed imports",
     f"Failed imports: `{rs('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 26)}`, `{rs('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 26)}`. "
     "Both hit the 10 MB limit.",
     "ULID request ids", "identifiers.", "https://github.com/ulid/spec")
case("file-paths", "project", "Where the generated fixtures live",
     "Generated fixtures: `tests/fixtures/keys/README.md`, `tests/fixtures/tokens/valid_shapes.rs`, `src/secrets/scanner/mod.rs`. "
     "The directory named `secrets` holds the scanner code, not secrets.",
     "File paths containing the words keys/tokens/secrets", "paths only.")
case("lfs-pointer", "reference", "Git LFS pointer for the model weights file",
     f"```\nversion https://git-lfs.github.com/spec/v1\noid sha256:{sha256()}\nsize {R.randint(10**8, 10**9)}\n```",
     "Git LFS pointer file", "content hash and size.", "https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md")
case("sri-hash", "project", "Subresource integrity for the CDN script",
     f"`<script src=\"https://cdn.example.net/widget@3.2.1/widget.min.js\" integrity=\"sha384-{b64(rbytes(48))}\" crossorigin=\"anonymous\"></script>`",
     "Subresource Integrity hash", "hash of a public script.", "https://www.w3.org/TR/SRI/")
case("ansible-vault-blob", "project", "Encrypted ansible-vault file header (ciphertext only)",
     f"`group_vars/all/vault.yml` is encrypted; it starts with\n\n```\n$ANSIBLE_VAULT;1.1;AES256\n{rs(HEX, 80)}\n{rs(HEX, 80)}\n```\n\n"
     "The vault password is in the team password manager.",
     "ansible-vault ciphertext", "encrypted data; the password is not present.", "https://docs.ansible.com/ansible/latest/vault_guide/vault_using_encrypted_content.html")

# ---------------------------------------------------------------------------
# 6. URLs without a real password
# ---------------------------------------------------------------------------
case("ssh-git-url", "project", "Remote URLs for the monorepo",
     "Remotes: `ssh://git@github.com/acme/monorepo.git` (origin) and `git@github.com:acme/monorepo-archive.git` (archive). "
     "The `git@` user is GitHub's fixed SSH user; auth is the SSH key.",
     "SSH git URLs with the git user", "user name only, authenticated by key.", "https://docs.github.com/en/get-started/git-basics/about-remote-repositories")
case("postgres-user-no-pass", "reference", "Local DATABASE_URL uses peer auth",
     "`DATABASE_URL=postgres://app@localhost/app` — no password because local Postgres uses peer/trust auth on the socket.",
     "postgres URL with user but no password", "no password component.", "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS")
case("postgres-placeholder", "reference", "Example connection string in CONTRIBUTING.md",
     "CONTRIBUTING.md shows `postgres://user:password@localhost:5432/dev` as the example; contributors substitute their own local values.",
     "URL with literal placeholder user:password", "the words 'user' and 'password' are placeholders.")
case("redis-env-password", "project", "Redis URL built from an env var",
     "`REDIS_URL=redis://:${REDIS_PASSWORD}@cache.internal:6379/0` in the compose file; the variable comes from the host environment.",
     "Redis URL with ${REDIS_PASSWORD} placeholder", "variable interpolation.")
case("https-user-only", "reference", "Artifact server URL with username only",
     "pip is configured with `index-url = https://ci-reader@pypi.internal.example.com/simple/`; the password comes from keyring.",
     "HTTPS URL with a user and no password", "no password component.", "https://pip.pypa.io/en/stable/topics/authentication/")
case("rabbit-guest-local", "reference", "RabbitMQ dev container uses the default guest account",
     "The dev compose file uses `amqp://guest:guest@localhost:5672/`. RabbitMQ's default `guest` user can only connect from "
     "localhost, so this only works in the local container.",
     "RabbitMQ documented default guest/guest on localhost", "documented default, restricted to loopback.",
     "https://www.rabbitmq.com/docs/access-control#default-state")
case("mongodb-srv-no-creds", "reference", "Atlas cluster host (credentials via X.509)",
     "Cluster URI is `mongodb+srv://cluster0.ab1cd.mongodb.net/?authMechanism=MONGODB-X509`; the client certificate is mounted by the platform.",
     "mongodb+srv URI without user info", "no credentials in the URI.", "https://www.mongodb.com/docs/manual/reference/connection-string/")

# ---------------------------------------------------------------------------
# 7. Short prefixes mentioned in prose
# ---------------------------------------------------------------------------
case("github-prefixes-prose", "reference", "What GitHub token prefixes mean",
     "GitHub token prefixes: `ghp_` classic PAT, `github_pat_` fine-grained PAT, `gho_` OAuth, `ghu_`/`ghs_` GitHub App tokens, "
     "`ghr_` refresh. The last 6 characters are a checksum, which lets scanners drop random strings.",
     "Token prefixes listed in prose", "prefixes without token bodies.", SRC_GH_TOK)
case("ssh-keygen-sk", "user", "User's hardware key setup uses ed25519-sk",
     "The user's SSH keys are hardware-backed: `ssh-keygen -t ed25519-sk -O resident -O verify-required`. The `-sk` suffix means "
     "FIDO security key; the private half never leaves the YubiKey.",
     "ssh-keygen -t ed25519-sk flag", "'sk' here means security key; no key material.", "https://man.openbsd.org/ssh-keygen.1")
case("stripe-prefix-prose", "reference", "How to tell Stripe key types apart",
     "Stripe prefixes: `pk_` publishable (safe in the browser), `sk_` secret, `rk_` restricted, `whsec_` webhook signing secret; "
     "`_test_` vs `_live_` selects the mode.",
     "Stripe key prefixes in prose", "prefixes only.", "https://docs.stripe.com/keys")
case("aws-prefix-prose", "reference", "AKIA vs ASIA access key ids",
     "Access key ids beginning with `AKIA` are long-term IAM user keys; `ASIA` ones are temporary STS credentials and always "
     "come with a session token. Our policy bans `AKIA` keys for workloads.",
     "AWS key-id prefixes in prose", "prefixes only.", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids")
case("slack-prefix-prose", "reference", "Slack token types used by the bot",
     "The bot uses an `xoxb-` bot token for the Web API and an `xapp-` app-level token for Socket Mode; we never request `xoxp-` "
     "user tokens.",
     "Slack token prefixes in prose", "prefixes only.", "https://api.slack.com/authentication/token-types")
case("sk-cli-flag", "project", "The benchmark tool's --sk flag means skip",
     "In our benchmark harness `-sk 3` / `--sk=3` means *skip the first 3 warm-up iterations*; it has nothing to do with keys. "
     "Renaming it to `--skip-warmup` is on the backlog.",
     "sk- used as a CLI flag", "flag name, not a key.")

# ---------------------------------------------------------------------------
# 8. Public-by-design identifiers
# ---------------------------------------------------------------------------
case("stripe-publishable", "project", "Stripe publishable key embedded in the checkout page",
     f"Checkout page initialises Stripe.js with the publishable key `pk_live_51{rs(ALNUM, 97)}`. Publishable keys are meant for the "
     "browser; the secret key stays on the server.",
     "Stripe publishable key pk_live_", "publishable keys are public by design.", "https://docs.stripe.com/keys#obtain-api-keys")
case("google-oauth-client-id", "reference", "Google OAuth client id for the web app",
     f"Web client id: `{R.randint(10**11, 10**12 - 1)}-{rs(string.ascii_lowercase + string.digits, 32)}.apps.googleusercontent.com`. "
     "It is embedded in the login page; the client secret is not in this note.",
     "Google OAuth client id", "client ids are public.", "https://developers.google.com/identity/protocols/oauth2/javascript-implicit-flow")
acct = str(R.randint(10**11, 10**12 - 1))
case("aws-account-id", "reference", "AWS account ids and the deploy role ARN",
     f"Prod account `{acct}`, deploy role `arn:aws:iam::{acct}:role/github-deploy` (assumed via OIDC, no static keys).",
     "AWS account id and role ARN", "account ids are identifiers, not credentials.", "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html")
case("sentry-dsn-public", "project", "Frontend Sentry DSN",
     f"Frontend DSN: `https://{rs(HEX, 32)}@o{R.randint(100000, 999999)}.ingest.sentry.io/{R.randint(1000000, 9999999)}`. DSNs "
     "only allow sending events and are shipped in the JS bundle by design.",
     "Sentry DSN (public key)", "DSNs are designed to be public in client code.", "https://docs.sentry.io/concepts/key-terms/dsn-explainer/")
MAPBOX_PK = ("pk." + base64.urlsafe_b64encode(('{"u":"acme-maps","a":"' + rs(string.ascii_lowercase + string.digits, 25) + '"}').encode()).decode().rstrip("=")
             + "." + rs(ALNUM + "-_", 22))
case("mapbox-public-token", "project", "Mapbox public token used by the map widget",
     f"Map widget uses the public token `{MAPBOX_PK}`, "
     "restricted to our domains via URL restrictions.",
     "Mapbox public token (pk.)", "public tokens are meant for client-side use.", "https://docs.mapbox.com/accounts/guides/tokens/")
case("recaptcha-site-key", "reference", "reCAPTCHA site key on the signup form",
     f"Signup uses reCAPTCHA v3 site key `6L{rs(ALNUM + '-_', 38)}` in the page; the secret key is only in the backend config.",
     "reCAPTCHA site key", "site keys are public.", "https://developers.google.com/recaptcha/docs/v3")
case("ga-measurement-id", "reference", "Analytics measurement id",
     f"Analytics is `G-{rs(string.ascii_uppercase + string.digits, 10)}`; it is in every page's HTML.",
     "Google Analytics measurement id", "public identifier.")
case("github-app-client-id", "reference", "GitHub App identifiers",
     f"GitHub App `acme-bot`: App ID {R.randint(100000, 999999)}, client ID `Iv1.{rs(HEX, 16)}`. The private key and client "
     "secret are in Vault.",
     "GitHub App id and client id", "client ids are public identifiers.", "https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/about-authentication-with-a-github-app")
case("azure-tenant-ids", "reference", "Azure tenant and subscription ids",
     f"Tenant `{uuid4()}`, subscription `{uuid4()}`, app registration (client) id `{uuid4()}`. Workload identity federation, no secret.",
     "Azure tenant/subscription/client ids", "identifiers, not credentials.", "https://learn.microsoft.com/en-us/entra/fundamentals/how-to-find-tenant")
case("firebase-project-id", "reference", "Firebase project and app ids",
     f"Firebase project `acme-mobile-{R.randint(1000, 9999)}`, app id `1:{R.randint(10**11, 10**12 - 1)}:android:{rs(HEX, 16)}`.",
     "Firebase project/app ids", "public identifiers.")

# ---------------------------------------------------------------------------
# 9. Mixed everyday notes with security vocabulary
# ---------------------------------------------------------------------------
case("token-budget", "feedback", "Keep prompts under the token budget",
     "The user wants prompts kept under 8k tokens; summarise long logs before pasting. 'Tokens' here are model tokens, not credentials.",
     "The word 'token' in an LLM sense", "no credential.")
case("secret-santa", "user", "Team Secret Santa budget",
     "Team Secret Santa: budget 25 EUR, draw on 2024-12-02, exchange on the 19th. The user is organising it.",
     "The word 'secret' in ordinary prose", "no credential.")
case("key-value-store", "reference", "Key naming convention in the KV store",
     "KV keys follow `tenant:{id}:session:{sid}`; values are JSON and expire after 24 h. 'Key' means lookup key.",
     "The word 'key' as a lookup key", "no credential.")
case("password-field-migration", "project", "Migration renames password column to password_hash",
     "Migration 0057 renames `users.password` to `users.password_hash` (it always held argon2id hashes) and adds "
     "`password_changed_at`.",
     "Schema migration naming password columns", "column names only.")
case("api-key-header-name", "reference", "Which header carries the API key",
     "The partner API expects the key in `X-Api-Key`, not `Authorization`. Our client reads it from `PARTNER_API_KEY` at runtime.",
     "Header name for API keys", "header name only.")
case("cert-expiry", "project", "TLS certificate expiry dates",
     "Certificates: api.example.com expires 2025-03-02, admin.example.com 2025-04-18. cert-manager renews at 30 days left.",
     "Certificate expiry prose", "no key material.")
case("bcrypt-cost", "project", "bcrypt cost factor raised to 12",
     "Raised bcrypt cost from 10 to 12 after benchmarking (~250 ms per hash on the auth pods). Existing hashes are upgraded on next login.",
     "Password hashing parameters", "no password or hash.", "https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html")


def main():
    path = C.write()
    print(f"wrote {len(C.cases)} cases to {path}")


if __name__ == "__main__":
    main()
