#!/usr/bin/env python3
"""Generate tests/corpus/secret.jsonl: memory notes that carry a live-looking
credential and that the content guard must reject.

Every credential is produced here with a fixed-seed RNG to the shape the
provider documents (prefix, alphabet, length, checksum where one exists).  None
of them is a real key.  The credential is embedded in the kind of note an agent
writes after a run (deploy note, .env snippet, handoff, user preference, config
fragment, troubleshooting log ...) and sits in the body, or for ~15% of cases in
the description.

Deterministic: stdlib only, fixed seed, byte-identical output on every run.
All text is written for this project.
"""

from __future__ import annotations

import base64
import json
import random
import string
import struct
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Corpus, note  # noqa: E402

FAMILY = "secret"
SEED = 0x5EC2E701
R = random.Random(SEED)

UP = string.ascii_uppercase
LO = string.ascii_lowercase
DIG = string.digits
HEX = "0123456789abcdef"
HEXU = "0123456789ABCDEF"
ALNUM = UP + LO + DIG
B62_CHECKSUM = DIG + UP + LO  # 0-9A-Za-z, as in GitHub's token checksum
URLSAFE = ALNUM + "-_"
B64 = UP + LO + DIG + "+/"
AWS_B32 = UP + "234567"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32U = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
PW_SYMBOLS = "!#$%&*+-=?@^_~"

GEN_NOTE = "Value generated with a fixed-seed RNG to the documented shape; not a real credential."


def rs(alpha: str, n: int) -> str:
    return "".join(R.choice(alpha) for _ in range(n))


def rbytes(n: int) -> bytes:
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def digits(lo: int, hi: int | None = None) -> str:
    n = lo if hi is None else R.randint(lo, hi)
    return str(R.randint(1, 9)) + rs(DIG, n - 1)


def base62_checksum(body: str) -> str:
    n = zlib.crc32(body.encode())
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62_CHECKSUM[r] + out
    return out.rjust(6, "0")


def checksummed(prefix: str) -> str:
    body = rs(ALNUM, 30)
    return prefix + body + base62_checksum(body)


def strong_password(n: int | None = None) -> str:
    n = n or R.randint(11, 18)
    while True:
        pw = rs(ALNUM + PW_SYMBOLS, n)
        if (any(c in UP for c in pw) and any(c in LO for c in pw) and any(c in DIG for c in pw)
                and any(c in PW_SYMBOLS for c in pw)):
            return pw


def url_password(n: int | None = None) -> str:
    """High-entropy password that needs no percent-encoding inside a URL."""
    n = n or R.randint(16, 28)
    return rs(ALNUM, n - 2) + R.choice("-_.~") + rs(ALNUM, 1)


def wrap(text: str, width: int = 64) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


# ---------------------------------------------------------------------------
# Token generators (shapes from the providers' documentation)
# ---------------------------------------------------------------------------

def sentry_org_token() -> str:
    payload = {"iat": float(R.randint(1_700_000_000, 1_760_000_000)) + R.randint(0, 999_999) / 1e6,
               "url": "https://sentry.io", "region_url": R.choice(["https://us.sentry.io", "https://de.sentry.io"]),
               "org": R.choice(["acme", "northwind", "lumen-labs", "orchard-co"])}
    enc = b64(json.dumps(payload, separators=(",", ":")).encode()).rstrip("=")
    return "sntrys_" + enc + "_" + rs(ALNUM + "+/", 43)


def mapbox_secret() -> str:
    payload = {"u": R.choice(["acme-maps", "fleetview", "geo-team"]), "a": rs(LO + DIG, 25)}
    return "sk." + b64url(json.dumps(payload, separators=(",", ":")).encode()) + "." + rs(URLSAFE, 22)


def stripe_secret(prefix: str) -> str:
    n = R.choice([24, 34, 99])
    if n == 99:
        return prefix + "51" + rs(ALNUM, 97)
    return prefix + rs(ALNUM, n)


def openai_project() -> str:
    if R.random() < 0.5:
        return "sk-proj-" + rs(URLSAFE, 74) + "T3BlbkFJ" + rs(URLSAFE, 74)
    return "sk-proj-" + rs(URLSAFE, R.randint(100, 130))


def azure_ad_secret() -> str:
    return rs(ALNUM, 3) + "8Q~" + rs(ALNUM + "-_.~", 34)


SPECS = []  # token formats rendered through the generic note templates


def spec(fmt, svc, var, gen, shape, src, n=2):
    SPECS.append(dict(fmt=fmt, svc=svc, var=var, gen=gen, shape=shape, src=src, n=n))


# -- cloud
spec("aws-access-key-id-akia", "AWS IAM access key", "AWS_ACCESS_KEY_ID", lambda: "AKIA" + rs(AWS_B32, 16),
     "AKIA + 16 chars of [A-Z2-7]", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids")
spec("aws-temp-key-id-asia", "AWS STS temporary key", "AWS_ACCESS_KEY_ID", lambda: "ASIA" + rs(AWS_B32, 16),
     "ASIA + 16 chars of [A-Z2-7] (temporary STS credentials)", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids", n=1)
spec("google-api-key", "Google Maps API key", "GOOGLE_MAPS_API_KEY", lambda: "AIza" + rs(URLSAFE, 35),
     "AIza + 35 chars of [A-Za-z0-9_-]", "https://cloud.google.com/docs/authentication/api-keys", n=3)
spec("digitalocean-pat", "DigitalOcean personal access token", "DIGITALOCEAN_TOKEN", lambda: "dop_v1_" + rs(HEX, 64),
     "dop_v1_ + 64 hex", "https://docs.digitalocean.com/reference/api/create-personal-access-token/")
spec("digitalocean-oauth", "DigitalOcean OAuth token", "DO_OAUTH_TOKEN", lambda: "doo_v1_" + rs(HEX, 64),
     "doo_v1_ + 64 hex", "https://docs.digitalocean.com/reference/api/oauth/", n=1)
spec("alibaba-accesskey-id", "Alibaba Cloud AccessKey ID", "ALIBABA_CLOUD_ACCESS_KEY_ID", lambda: "LTAI" + rs(ALNUM, 20),
     "LTAI + 20 alnum", "https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair")
spec("azure-ad-client-secret", "Azure AD app client secret", "AZURE_CLIENT_SECRET", azure_ad_secret,
     "3 chars + 8Q~ + 34 chars (Entra ID client secret)", "https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials", n=1)
spec("cloudflare-api-token", "Cloudflare API token", "CLOUDFLARE_API_TOKEN", lambda: rs(URLSAFE, 40),
     "40 chars of [A-Za-z0-9_-] in CLOUDFLARE_API_TOKEN", "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/", n=1)
# -- VCS
for pfx, kind, var in [("ghp_", "GitHub classic personal access token", "GITHUB_TOKEN"),
                       ("gho_", "GitHub OAuth access token", "GH_OAUTH_TOKEN"),
                       ("ghu_", "GitHub App user-to-server token", "GH_USER_TOKEN"),
                       ("ghs_", "GitHub App installation token", "GH_APP_INSTALLATION_TOKEN"),
                       ("ghr_", "GitHub refresh token", "GH_REFRESH_TOKEN")]:
    spec(f"github-{pfx.rstrip('_')}", kind, var, (lambda p=pfx: checksummed(p)),
         f"{pfx} + 30 base62 + 6-char base62 CRC32 checksum",
         "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/",
         n=3 if pfx == "ghp_" else 2)
spec("github-fine-grained-pat", "GitHub fine-grained personal access token", "GH_TOKEN",
     lambda: "github_pat_" + rs(ALNUM, 22) + "_" + rs(ALNUM, 59), "github_pat_ + 22 base62 + _ + 59 base62",
     "https://github.blog/security/application-security/introducing-fine-grained-personal-access-tokens-for-github/", n=3)
spec("gitlab-pat", "GitLab personal access token", "GITLAB_TOKEN", lambda: "glpat-" + rs(URLSAFE, 20),
     "glpat- + 20 chars of [A-Za-z0-9_-]", "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", n=3)
spec("gitlab-runner-token", "GitLab runner authentication token", "CI_RUNNER_TOKEN", lambda: "glrt-" + rs(URLSAFE, 20),
     "glrt- + 20 chars", "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", n=1)
# -- CI
spec("circleci-pat", "CircleCI personal API token", "CIRCLECI_TOKEN",
     lambda: "CCIPAT_" + rs(B58, 22) + "_" + rs(HEX, 40), "CCIPAT_<base58 id>_<40 hex>",
     "https://circleci.com/changelog/new-format-for-api-access-tokens/")
spec("buildkite-token", "Buildkite API access token", "BUILDKITE_API_TOKEN", lambda: "bkua_" + rs(HEX, 40),
     "bkua_ + 40 hex", "https://buildkite.com/docs/apis/managing-api-tokens")
spec("terraform-cloud-token", "HCP Terraform user API token", "TFE_TOKEN",
     lambda: rs(ALNUM, 14) + ".atlasv1." + rs(ALNUM, R.randint(64, 70)), "<14 chars>.atlasv1.<60+ chars>",
     "https://developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/api-tokens")
spec("vault-service-token", "HashiCorp Vault service token", "VAULT_TOKEN",
     lambda: "hvs.CAESI" + rs(URLSAFE, R.randint(86, 96)), "hvs. + 90+ chars",
     "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes")
spec("doppler-service-token", "Doppler service token", "DOPPLER_TOKEN", lambda: "dp.st." + rs(LO, 3) + "." + rs(ALNUM, 40),
     "dp.st.<config>.<40 alnum>", "https://docs.doppler.com/reference/auth-token-formats", n=1)
spec("pulumi-access-token", "Pulumi access token", "PULUMI_ACCESS_TOKEN", lambda: "pul-" + rs(HEX, 40),
     "pul- + 40 hex", "https://www.pulumi.com/docs/pulumi-cloud/access-management/access-tokens/", n=1)
# -- chat
spec("slack-bot-token", "Slack bot token", "SLACK_BOT_TOKEN",
     lambda: f"xoxb-{digits(10, 13)}-{digits(10, 13)}-{rs(ALNUM, 24)}", "xoxb-<digits>-<digits>-<24 alnum>",
     "https://api.slack.com/authentication/token-types#bot", n=3)
spec("slack-user-token", "Slack user token", "SLACK_USER_TOKEN",
     lambda: f"xoxp-{digits(10, 13)}-{digits(10, 13)}-{digits(10, 13)}-{rs(HEX, 32)}", "xoxp-<digits>-<digits>-<digits>-<32 hex>",
     "https://api.slack.com/authentication/token-types#user")
spec("slack-app-token", "Slack app-level token", "SLACK_APP_TOKEN",
     lambda: f"xapp-1-A{rs(UP + DIG, 10)}-{digits(13)}-{rs(HEX, 64)}", "xapp-1-<app id>-<13 digits>-<64 hex>",
     "https://api.slack.com/authentication/token-types#app-level")
spec("slack-incoming-webhook", "Slack incoming webhook", "SLACK_WEBHOOK_URL",
     lambda: f"https://hooks.slack.com/services/T{rs(UP + DIG, R.randint(8, 10))}/B{rs(UP + DIG, R.randint(8, 10))}/{rs(ALNUM, 24)}",
     "https://hooks.slack.com/services/T…/B…/<24 alnum>", "https://api.slack.com/messaging/webhooks", n=3)
spec("discord-webhook", "Discord webhook", "DISCORD_WEBHOOK_URL",
     lambda: f"https://discord.com/api/webhooks/{digits(18)}/{rs(URLSAFE, 68)}",
     "https://discord.com/api/webhooks/<18-digit id>/<68-char token>", "https://discord.com/developers/docs/resources/webhook")
spec("telegram-bot-token", "Telegram bot token", "TELEGRAM_BOT_TOKEN",
     lambda: f"{digits(8, 10)}:AA{rs(URLSAFE, 33)}", "<8-10 digits>:AA<33 chars>",
     "https://core.telegram.org/bots/api#authorizing-your-bot", n=3)
# -- payment
spec("stripe-secret-live", "Stripe live secret key", "STRIPE_SECRET_KEY", lambda: stripe_secret("sk_live_"),
     "sk_live_ + 24-99 alnum", "https://docs.stripe.com/keys", n=3)
spec("stripe-restricted-live", "Stripe restricted key", "STRIPE_RESTRICTED_KEY", lambda: stripe_secret("rk_live_"),
     "rk_live_ + 24-99 alnum", "https://docs.stripe.com/keys#limit-access")
spec("stripe-secret-test", "Stripe test-mode secret key", "STRIPE_TEST_SECRET_KEY", lambda: stripe_secret("sk_test_"),
     "sk_test_ + 24-99 alnum (test secret keys are still secret)", "https://docs.stripe.com/keys")
spec("stripe-webhook-secret", "Stripe webhook signing secret", "STRIPE_WEBHOOK_SECRET", lambda: "whsec_" + rs(ALNUM, 32),
     "whsec_ + 32 alnum", "https://docs.stripe.com/webhooks#verify-events")
spec("square-access-token", "Square production access token", "SQUARE_ACCESS_TOKEN", lambda: "EAAA" + rs(URLSAFE, 60),
     "EAAA + 60 chars", "https://developer.squareup.com/docs/build-basics/access-tokens")
spec("square-oauth-secret", "Square OAuth application secret", "SQUARE_APPLICATION_SECRET", lambda: "sq0csp-" + rs(URLSAFE, 43),
     "sq0csp- + 43 chars", "https://developer.squareup.com/docs/oauth-api/overview")
spec("shopify-admin-token", "Shopify Admin API access token", "SHOPIFY_ACCESS_TOKEN", lambda: "shpat_" + rs(HEX, 32),
     "shpat_ + 32 hex", "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/generate-app-access-tokens-admin")
spec("shopify-shared-secret", "Shopify app shared secret", "SHOPIFY_API_SECRET", lambda: "shpss_" + rs(HEX, 32),
     "shpss_ + 32 hex", "https://shopify.dev/docs/apps/build/authentication-authorization", n=1)
spec("shopify-custom-app-token", "Shopify custom app access token", "SHOPIFY_CUSTOM_APP_TOKEN", lambda: "shpca_" + rs(HEX, 32),
     "shpca_ + 32 hex", "https://shopify.dev/docs/apps/build/authentication-authorization", n=1)
# -- email / SMS
spec("sendgrid-api-key", "SendGrid API key", "SENDGRID_API_KEY", lambda: "SG." + rs(URLSAFE, 22) + "." + rs(URLSAFE, 43),
     "SG.<22>.<43>", "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys", n=3)
spec("mailgun-api-key", "Mailgun private API key", "MAILGUN_API_KEY", lambda: "key-" + rs(HEX, 32),
     "key- + 32 hex", "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication/")
spec("mailchimp-api-key", "Mailchimp Marketing API key", "MAILCHIMP_API_KEY", lambda: rs(HEX, 32) + "-us" + str(R.randint(1, 21)),
     "32 hex + -us<dc>", "https://mailchimp.com/developer/marketing/guides/quick-start/")
# -- registries
spec("npm-access-token", "npm access token", "NPM_TOKEN", lambda: checksummed("npm_"),
     "npm_ + 30 base62 + 6-char CRC32 checksum", "https://github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/", n=3)
spec("pypi-api-token", "PyPI API token", "TWINE_PASSWORD", lambda: "pypi-AgEIcHlwaS5vcmc" + "CJ" + rs(URLSAFE, R.randint(140, 160)),
     "pypi-AgEIcHlwaS5vcmc + macaroon body", "https://pypi.org/help/#apitoken")
spec("rubygems-api-key", "RubyGems API key", "GEM_HOST_API_KEY", lambda: "rubygems_" + rs(HEX, 48),
     "rubygems_ + 48 hex", "https://guides.rubygems.org/api-key-scopes/")
spec("dockerhub-pat", "Docker Hub personal access token", "DOCKERHUB_TOKEN", lambda: "dckr_pat_" + rs(URLSAFE, 27),
     "dckr_pat_ + 27 chars", "https://docs.docker.com/security/for-developers/access-tokens/")
spec("nuget-api-key", "NuGet.org API key", "NUGET_API_KEY", lambda: "oy2" + rs(LO + DIG, 43),
     "oy2 + 43 lowercase alnum", "https://learn.microsoft.com/en-us/nuget/nuget-org/scoped-api-keys")
# -- AI providers
spec("openai-project-key", "OpenAI project API key", "OPENAI_API_KEY", openai_project,
     "sk-proj- + 100+ chars of [A-Za-z0-9_-]", "https://platform.openai.com/docs/api-reference/authentication", n=3)
spec("openai-legacy-key", "OpenAI legacy user API key", "OPENAI_API_KEY", lambda: "sk-" + rs(ALNUM, 20) + "T3BlbkFJ" + rs(ALNUM, 20),
     "sk- + 20 + T3BlbkFJ + 20", "https://platform.openai.com/docs/api-reference/authentication")
spec("openai-service-account-key", "OpenAI service-account key", "OPENAI_API_KEY", lambda: "sk-svcacct-" + rs(URLSAFE, 120),
     "sk-svcacct- + 100+ chars", "https://platform.openai.com/docs/api-reference/authentication", n=1)
spec("anthropic-api-key", "Anthropic API key", "ANTHROPIC_API_KEY", lambda: "sk-ant-api03-" + rs(URLSAFE, 93) + "AA",
     "sk-ant-api03- + 93 chars + AA", "https://docs.anthropic.com/en/api/getting-started", n=3)
spec("anthropic-admin-key", "Anthropic Admin API key", "ANTHROPIC_ADMIN_KEY", lambda: "sk-ant-admin01-" + rs(URLSAFE, 93) + "AA",
     "sk-ant-admin01- + 93 chars + AA", "https://docs.anthropic.com/en/api/administration-api", n=1)
spec("huggingface-token", "Hugging Face user access token", "HF_TOKEN", lambda: "hf_" + rs(UP + LO, 34),
     "hf_ + 34 letters", "https://huggingface.co/docs/hub/security-tokens")
spec("replicate-token", "Replicate API token", "REPLICATE_API_TOKEN", lambda: "r8_" + rs(ALNUM, 37),
     "r8_ + 37 alnum", "https://replicate.com/docs/topics/security/api-tokens")
spec("groq-api-key", "Groq API key", "GROQ_API_KEY", lambda: "gsk_" + rs(ALNUM, 52),
     "gsk_ + 52 alnum", "https://console.groq.com/docs/quickstart")
spec("perplexity-api-key", "Perplexity API key", "PERPLEXITY_API_KEY", lambda: "pplx-" + rs(ALNUM, 48),
     "pplx- + 48 alnum", "https://docs.perplexity.ai/guides/getting-started")
# -- databases (token-shaped)
spec("planetscale-password", "PlanetScale database password", "PLANETSCALE_PASSWORD", lambda: "pscale_pw_" + rs(URLSAFE, 43),
     "pscale_pw_ + 43 chars", "https://planetscale.com/docs/concepts/connection-strings")
spec("supabase-access-token", "Supabase management API access token", "SUPABASE_ACCESS_TOKEN", lambda: "sbp_" + rs(HEX, 40),
     "sbp_ + 40 hex", "https://supabase.com/docs/reference/api/introduction")
# -- observability
spec("datadog-api-key", "Datadog API key", "DD_API_KEY", lambda: rs(HEX, 32),
     "32 hex in DD_API_KEY", "https://docs.datadoghq.com/account_management/api-app-keys/", n=3)
spec("datadog-app-key", "Datadog application key", "DD_APP_KEY", lambda: rs(HEX, 40),
     "40 hex in DD_APP_KEY", "https://docs.datadoghq.com/account_management/api-app-keys/", n=1)
spec("newrelic-user-key", "New Relic user API key", "NEW_RELIC_API_KEY", lambda: "NRAK-" + rs(UP + DIG, 27),
     "NRAK- + 27 uppercase alnum", "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/")
spec("sentry-org-token", "Sentry organization auth token", "SENTRY_AUTH_TOKEN", sentry_org_token,
     "sntrys_ + base64 JSON claims (eyJ…) + _ + secret", "https://docs.sentry.io/security-legal-pii/security/token-formats/")
spec("sentry-user-token", "Sentry user auth token", "SENTRY_AUTH_TOKEN", lambda: "sntryu_" + rs(HEX, 64),
     "sntryu_ + 64 hex", "https://docs.sentry.io/security-legal-pii/security/token-formats/", n=1)
spec("grafana-service-account", "Grafana service account token", "GRAFANA_TOKEN",
     lambda: "glsa_" + rs(ALNUM, 32) + "_" + rs(HEX, 8), "glsa_ + 32 alnum + _ + 8 hex",
     "https://grafana.com/docs/grafana/latest/administration/service-accounts/")
# -- misc SaaS
spec("linear-api-key", "Linear personal API key", "LINEAR_API_KEY", lambda: "lin_api_" + rs(ALNUM, 40),
     "lin_api_ + 40 alnum", "https://linear.app/developers/graphql#personal-api-keys", n=1)
spec("postman-api-key", "Postman API key", "POSTMAN_API_KEY", lambda: "PMAK-" + rs(HEX, 24) + "-" + rs(HEX, 34),
     "PMAK-<24 hex>-<34 hex>", "https://learning.postman.com/docs/developer/postman-api/authentication/", n=1)
spec("airtable-pat", "Airtable personal access token", "AIRTABLE_TOKEN", lambda: "pat" + rs(ALNUM, 14) + "." + rs(HEX, 64),
     "pat<14>.<64 hex>", "https://airtable.com/developers/web/guides/personal-access-tokens", n=1)
spec("mapbox-secret-token", "Mapbox secret access token", "MAPBOX_SECRET_TOKEN", mapbox_secret,
     "sk.<base64url JSON>.<22 chars>", "https://docs.mapbox.com/accounts/guides/tokens/", n=1)
spec("age-secret-key", "age X25519 identity (secret key)", "SOPS_AGE_KEY", lambda: "AGE-SECRET-KEY-1" + rs(BECH32U, 58),
     "AGE-SECRET-KEY-1 + 58 bech32 chars", "https://age-encryption.org/v1", n=1)

# ---------------------------------------------------------------------------
# Surrounding prose
# ---------------------------------------------------------------------------

PROJECTS = ["billing-api", "atlas-web", "ledger-sync", "helios", "orchard", "paperplane", "kestrel-etl",
            "mosaic-dashboard", "tern", "quarry", "lantern-docs", "harbor-gateway", "nimbus-cli", "sprocket",
            "fieldnotes", "relay-worker"]
ENVS = ["staging", "prod", "dev", "qa", "preview", "sandbox"]
PEOPLE = ["Priya", "Marco", "Jonas", "Aiko", "Dana", "Femi", "Lucía", "Tomasz", "Grace", "Omar"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "2024-03-14", "2024-06-02", "2024-09-27",
        "2024-11-05", "2025-01-20", "2025-02-11"]
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1", "us-west-2"]


def ctx(sp: dict) -> dict:
    var = sp["var"]
    return dict(svc=sp["svc"], var=var, val=sp["gen"](), project=R.choice(PROJECTS), env=R.choice(ENVS),
                person=R.choice(PEOPLE), day=R.choice(DAYS), region=R.choice(REGIONS), lvar=var.lower(),
                port=R.choice([3000, 8080, 8000, 5173, 4000]))


def T(kind, typ, desc, body):
    return dict(kind=kind, type=typ, desc=desc, body=body)


def t_deploy(c):
    return T("deploy-note", "project", f"{c['project']} {c['env']} deploy on {c['day']}: how the pipeline authenticates to {c['svc']}",
             f"Deployed **{c['project']}** to {c['env']} on {c['day']}. Pipeline is green again after the credential swap.\n\n"
             f"The {c['svc']} credential the release job uses is `{c['val']}`; it is stored as `{c['var']}` in the CI "
             f"project settings, so re-runs pick it up automatically.\n\nNext time: check the {c['env']} dashboard before promoting.")


def t_envfile(c):
    lines = ["NODE_ENV=development", f"PORT={c['port']}", "LOG_LEVEL=debug", f"{c['var']}={c['val']}",
             f"PUBLIC_BASE_URL=http://localhost:{c['port']}"]
    R.shuffle(lines)
    return T("env-file", "project", f"Local .env for {c['project']} (copy before running make dev)",
             f"## {c['project']} local setup\n\nCopy this into `.env` at the repo root before `make dev`; the app "
             f"refuses to start without the {c['svc'].split(' ')[0]} variable.\n\n```env\n" + "\n".join(lines) +
             "\n```\n\nThe file is git-ignored.")


def t_export(c):
    return T("shell-export", "reference", f"Shell steps to run the {c['project']} sync job by hand",
             f"To run the sync by hand (cron was paused during the migration):\n\n```bash\ncd ~/src/{c['project']}\n"
             f"export {c['var']}=\"{c['val']}\"\n./scripts/sync.sh --env {c['env']} --dry-run=false\n```\n\n"
             f"Takes about {R.randint(3, 40)} minutes; watch the log for `done`.")


def t_compose(c):
    return T("compose-yaml", "project", f"docker-compose service definition for the {c['project']} worker",
             f"Working compose file for the worker after today's fixes:\n\n```yaml\nservices:\n  worker:\n"
             f"    image: ghcr.io/acme/{c['project']}:latest\n    restart: unless-stopped\n    environment:\n"
             f"      RUST_LOG: info\n      {c['var']}: {c['val']}\n      REGION: {c['region']}\n    depends_on: [redis]\n```")


def t_json(c):
    cfg = {"service": c["project"], "region": c["region"], "retries": R.randint(2, 6),
           c["lvar"]: c["val"], "timeout_ms": R.choice([2000, 5000, 10000])}
    return T("json-config", "reference", f"config/{c['env']}.json contents for {c['project']}",
             f"`config/{c['env']}.json` as it is on the box now (I rebuilt it from the old one):\n\n```json\n"
             + json.dumps(cfg, indent=2) + "\n```")


def t_bullets(c):
    items = [f"- Region: {c['region']}", f"- Owner: {c['person']}", f"- {c['svc']}: `{c['val']}`",
             f"- Rotation: {R.choice(['quarterly', 'every 90 days', 'when someone leaves', 'never so far'])}",
             f"- Dashboard: https://{c['project']}.internal.example/admin"]
    mid = items[2]
    rest = [i for i in items if i is not mid]
    R.shuffle(rest)
    rest.insert(R.randint(0, len(rest)), mid)
    return T("facts-list", "project", f"Key facts about the {c['project']} {c['env']} environment",
             f"# {c['project']} ({c['env']})\n\n" + "\n".join(rest))


def t_userpref(c):
    return T("user-pref", "user", f"User's own {c['svc']} for their scripts",
             f"{c['person']} asked me to remember their {c['svc']} so they don't have to paste it every session: "
             f"{c['val']}\n\nUse it whenever they ask to call the API from a scratch script.")


def t_troubleshoot(c):
    return T("troubleshoot", "feedback", f"Fix for 401 errors from {c['svc'].split(' ')[0]} in {c['project']}",
             f"Symptom: every call returned `401 Unauthorized` since {c['day']}.\n\nCause: the old key was revoked "
             f"during the audit. {c['person']} generated a new one: `{c['val']}`. I put it in "
             f"`~/.config/{c['project']}/credentials` and the job passes now.\n\nIf 401s come back, check revocation first.")


def t_python(c):
    mod = c["svc"].split(" ")[0].lower()
    return T("python-snippet", "reference", f"Minimal Python client setup for {c['svc'].split(' ')[0]} used in notebooks",
             f"Snippet that worked in the analysis notebook:\n\n```python\nimport {mod}_client\n\n"
             f"client = {mod}_client.Client(\n    api_key=\"{c['val']}\",\n    timeout=30,\n)\n"
             f"print(client.ping())\n```\n\nThe notebook lives in `notebooks/{c['project']}-exploration.ipynb`.")


def t_toml(c):
    return T("toml-config", "project", f"{c['project']} config.toml [auth] section",
             f"Final `config.toml` for the CLI:\n\n```toml\n[server]\nurl = \"https://{c['project']}.example.net\"\n"
             f"region = \"{c['region']}\"\n\n[auth]\n{c['lvar']} = \"{c['val']}\"\n```\n\nThe CLI reads it from `$XDG_CONFIG_HOME/{c['project']}/`.")


def t_table(c):
    return T("md-table", "reference", f"Integration settings table for {c['project']}",
             f"| setting | value |\n|---|---|\n| region | {c['region']} |\n| `{c['var']}` | `{c['val']}` |\n"
             f"| retries | {R.randint(1, 5)} |\n\nFilled in after the call with {c['person']}.")


def t_tfvars(c):
    return T("tfvars", "project", f"terraform.tfvars used for the {c['env']} apply",
             f"Apply for {c['env']} succeeded with these inputs:\n\n```hcl\nregion      = \"{c['region']}\"\n"
             f"environment = \"{c['env']}\"\n{c['lvar']} = \"{c['val']}\"\n```\n\nState is in the shared backend.")


def t_gha(c):
    return T("gha-workflow", "project", f"Release workflow env block for {c['project']}",
             f"Release workflow after I fixed the publish step:\n\n```yaml\nname: release\non:\n  push:\n    tags: ['v*']\n"
             f"jobs:\n  publish:\n    runs-on: ubuntu-latest\n    env:\n      {c['var']}: {c['val']}\n    steps:\n"
             f"      - uses: actions/checkout@v4\n      - run: make publish\n```")


def t_handoff(c):
    return T("handoff", "project", f"Handoff notes for the next session on {c['project']}",
             f"Handoff for next session:\n\n1. Migration script is half done (`migrations/0042_backfill.sql`).\n"
             f"2. Credentials for the {c['svc']}: {c['val']}\n3. {c['person']} reviews the PR on {c['day']}.\n"
             f"4. Don't touch the {c['env']} cron until the backfill finishes.")


def t_docker(c):
    return T("docker-run", "reference", f"docker run command that works for the {c['project']} image",
             f"```sh\ndocker run --rm -p {c['port']}:{c['port']} \\\n  -e {c['var']}={c['val']} \\\n"
             f"  -e REGION={c['region']} \\\n  ghcr.io/acme/{c['project']}:{R.randint(1, 4)}.{R.randint(0, 20)}.{R.randint(0, 9)}\n```\n\n"
             "Healthcheck answers on /healthz after ~5 s.")


def t_flag(c):
    return T("cli-flag", "feedback", f"{c['project']} nightly export needs the token flag passed explicitly",
             f"Remember: when running the nightly export for {c['project']}, pass `--token {c['val']}` (the {c['svc']}); "
             f"without it the tool falls back to anonymous mode and silently exports nothing. {c['person']} lost a day to this.")


def t_feedback(c):
    return T("feedback", "feedback", f"Don't ask the user for the {c['svc']} again",
             f"The user was annoyed that I asked for the {c['svc']} twice. They gave it on {c['day']}: "
             f"{c['val']} — reuse it instead of asking.")


def t_js(c):
    return T("js-snippet", "reference", f"Client initialisation in {c['project']} frontend server",
             f"In `server/client.ts`:\n\n```ts\nexport const client = createClient({{\n  baseUrl: process.env.API_BASE,\n"
             f"  apiKey: '{c['val']}',\n  retries: {R.randint(1, 4)},\n}});\n```\n\nTODO move to env later.")


def t_rust(c):
    return T("rust-snippet", "reference", f"Hard-coded credential in {c['project']} integration test helper",
             f"The integration tests only pass with this in `tests/common/mod.rs`:\n\n```rust\n"
             f"pub const {c['var']}: &str = \"{c['val']}\";\n\npub fn client() -> Client {{\n"
             f"    Client::builder().token({c['var']}).build().unwrap()\n}}\n```")


def t_k8s(c):
    return T("k8s-secret", "project", f"Kubernetes Secret manifest for {c['project']} in {c['env']}",
             f"Applied with `kubectl apply -f secret.yaml`:\n\n```yaml\napiVersion: v1\nkind: Secret\nmetadata:\n"
             f"  name: {c['project']}-creds\n  namespace: {c['env']}\ntype: Opaque\nstringData:\n  {c['lvar']}: \"{c['val']}\"\n```")


def t_lead(c):
    return T("lead-line", "project", f"What finally fixed the {c['project']} integration",
             f"`{c['var']}={c['val']}`\n\nThat is the value that finally worked for the {c['project']} integration "
             f"in {c['env']}; the one in the wiki is stale. Confirmed with {c['person']} on {c['day']}.")


def t_ini(c):
    return T("ini-config", "reference", f"~/.{c['project']}rc profile section",
             f"```ini\n[profile {c['env']}]\nendpoint = https://api.{c['project']}.example.com\n"
             f"{c['lvar']} = {c['val']}\nregion = {c['region']}\n```\n\nSelected with `--profile {c['env']}`.")


GENERIC_TEMPLATES = [t_deploy, t_envfile, t_export, t_compose, t_json, t_bullets, t_userpref, t_troubleshoot,
                     t_python, t_toml, t_table, t_tfvars, t_gha, t_handoff, t_docker, t_flag, t_feedback, t_js,
                     t_rust, t_k8s, t_lead, t_ini]

DESC_FORMS = [
    "{svc} for {project}: {val}",
    "{var}={val} ({project} {env})",
    "{project} {env} uses {val}",
    "Token for {project}: {val}",
]
DESC_BODIES = [
    "Set this up while fixing the {project} {env} pipeline on {day}. The value is in the description so it shows "
    "up in the memory index. Rotation is {person}'s job.",
    "Saved after {person} shared it in the call. It is needed by the nightly job and by local debugging of "
    "{project}; without it the job exits with an auth error.",
    "Keep this handy: the {env} deploy for {project} needs it and the secret manager was unreachable today.",
]


class Deck:
    def __init__(self, items):
        self.items = list(items)
        self.pool = []

    def draw(self):
        if not self.pool:
            self.pool = list(self.items)
            R.shuffle(self.pool)
        return self.pool.pop()


C = Corpus(FAMILY)
REASONS = [
    "Save the working credential so the next run does not have to ask for it.",
    "Record the setup that finally worked.",
    "Keep the configuration for future sessions.",
    "Remember what the user provided.",
    "Persist the deploy details for the next agent run.",
    "Store the fix so the error does not recur.",
]


def add(slug, nt, t, reasoning=None):
    C.add(slug, note=nt, reasoning=reasoning or R.choice(REASONS), name=t.get("name") or slug,
          type=t["type"], description=t["desc"], body=t["body"])


def render_spec(sp, deck):
    for _ in range(sp["n"]):
        c = ctx(sp)
        nt = note(f"{sp['svc']} ({sp['fmt']}): {sp['shape']}", sp["src"], GEN_NOTE)
        if R.random() < 0.27:
            d = R.choice(DESC_FORMS).format(**c)
            if len(d.encode()) <= 150:
                body = R.choice(DESC_BODIES).format(**c)
                add(f"{sp['fmt']}-desc", nt + " Payload in the description.",
                    dict(type=R.choice(["project", "reference"]), desc=d, body=body,
                         name=f"{sp['fmt']}-{c['project']}"))
                continue
        t = deck.draw()(c)
        t["name"] = f"{c['project']}-{sp['fmt']}"[:44]
        add(f"{sp['fmt']}-{t['kind']}", nt + f" Context: {t['kind']}.", t)


# ---------------------------------------------------------------------------
# Structured / multi-part credentials with their own contexts
# ---------------------------------------------------------------------------

AWS_SRC = "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html"


def aws_cases():
    for i in range(4):
        kid, sec = "AKIA" + rs(AWS_B32, 16), rs(ALNUM + "/+", 40)
        p, person = R.choice(PROJECTS), R.choice(PEOPLE)
        if i == 0:
            t = T("aws-credentials-file", "reference", f"AWS CLI profile for the {p} deploy account",
                  f"Profile I created for {p} (used by `aws --profile {p}-deploy`):\n\n```ini\n[{p}-deploy]\n"
                  f"aws_access_key_id = {kid}\naws_secret_access_key = {sec}\nregion = {R.choice(REGIONS)}\n```")
        elif i == 1:
            t = T("aws-python", "project", f"boto3 session setup in {p} backfill script",
                  f"The backfill script builds its own session:\n\n```python\nimport boto3\n\nsession = boto3.Session(\n"
                  f"    aws_access_key_id=\"{kid}\",\n    aws_secret_access_key=\"{sec}\",\n    region_name=\"{R.choice(REGIONS)}\",\n)\n"
                  "s3 = session.client(\"s3\")\n```\n\nRuns in ~20 minutes for one month of data.")
        elif i == 2:
            t = T("aws-prose", "project", f"IAM user for {p} uploads created by {person}",
                  f"{person} created a dedicated IAM user for the {p} uploader. Access key id {kid}, and the secret "
                  f"access key is {sec}. Policy only allows s3:PutObject on the uploads bucket.")
        else:
            t = T("aws-secret-assign", "reference", f"aws_secret_access_key for the {p} CI runner",
                  f"Runner config (`/etc/{p}/aws.conf`):\n\n```\naws_secret_access_key = {sec}\n```\n\n"
                  "The key id is in the runner's env; this file only holds the secret half.")
        add(t["kind"], note("AWS access key id (AKIA + 16 of [A-Z2-7]) and 40-char secret access key", AWS_SRC, GEN_NOTE), t)
    # temporary credentials with session token
    kid, sec = "ASIA" + rs(AWS_B32, 16), rs(ALNUM + "/+", 40)
    tok = "IQoJb3JpZ2luX2VjE" + rs(ALNUM + "/+", 300) + "=="
    add("aws-sts-session", note("AWS temporary credentials (ASIA key id, secret, session token)",
                                "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html", GEN_NOTE),
        T("aws-sts", "reference", "Temporary AWS credentials from assume-role for the incident",
          "Assumed the break-glass role for the incident; creds valid for 12h:\n\n```sh\n"
          f"export AWS_ACCESS_KEY_ID={kid}\nexport AWS_SECRET_ACCESS_KEY={sec}\nexport AWS_SESSION_TOKEN={tok}\n```"))


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return b"\x81" + bytes([n])
    return b"\x82" + struct.pack(">H", n)


def rsa_pkcs1_der(bits: int = 2048) -> bytes:
    # SEQUENCE { version 0, n, e, d, p, q, dp, dq, qinv } with random integers of realistic sizes
    nb = bits // 8

    def integer(size):
        v = bytes([R.randint(0x80, 0xFF)]) + rbytes(size - 1)
        v = b"\x00" + v  # positive
        return b"\x02" + der_len(len(v)) + v

    body = b"\x02\x01\x00" + integer(nb) + b"\x02\x03\x01\x00\x01" + integer(nb)
    for _ in range(5):
        body += integer(nb // 2)
    return b"\x30" + der_len(len(body)) + body


def pkcs8_rsa_der() -> bytes:
    inner = rsa_pkcs1_der()
    alg = bytes.fromhex("300d06092a864886f70d0101010500")
    body = b"\x02\x01\x00" + alg + b"\x04" + der_len(len(inner)) + inner
    return b"\x30" + der_len(len(body)) + body


def pem(label: str, der: bytes, width: int = 64, headers: str = "") -> str:
    return f"-----BEGIN {label}-----\n{headers}{wrap(b64(der), width)}\n-----END {label}-----"


def ec_der() -> bytes:
    return (bytes.fromhex("307702010104") + b"\x20" + rbytes(32) + bytes.fromhex("a00a06082a8648ce3d030107a144034200")
            + b"\x04" + rbytes(64))


def ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def openssh_ed25519(comment: str) -> str:
    pub = rbytes(32)
    pubblob = ssh_string(b"ssh-ed25519") + ssh_string(pub)
    check = rbytes(4)
    priv = (check + check + ssh_string(b"ssh-ed25519") + ssh_string(pub) + ssh_string(rbytes(32) + pub)
            + ssh_string(comment.encode()))
    pad = 1
    while len(priv) % 8:
        priv += bytes([pad])
        pad += 1
    blob = (b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"")
            + struct.pack(">I", 1) + ssh_string(pubblob) + ssh_string(priv))
    # ssh-keygen wraps the armored body at 70 columns
    return pem("OPENSSH PRIVATE KEY", blob, width=70)


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_private(uid: str) -> str:
    ts = struct.pack(">I", R.randint(1_600_000_000, 1_730_000_000))
    key = (b"\x04" + ts + b"\x16\x09\x2b\x06\x01\x04\x01\xda\x47\x0f\x01" + b"\x01\x07\x40" + rbytes(32)
           + b"\xfe\x07\x03\x02" + rbytes(8) + b"\xff" + rbytes(60))
    pkt = b"\x94" + bytes([len(key)]) + key
    u = uid.encode()
    pkt += b"\xb4" + bytes([len(u)]) + u
    sig = rbytes(R.randint(140, 160))
    pkt += b"\x88" + bytes([len(sig)]) + sig
    sub = b"\x04" + ts + b"\x12\x0a\x2b\x06\x01\x04\x01\x97\x55\x01\x05\x01\x01\x07\x40" + rbytes(32) + b"\x03\x01\x08\x07" \
        + b"\xfe\x07\x03\x02" + rbytes(8) + b"\xff" + rbytes(60)
    pkt += b"\x9c" + bytes([len(sub)]) + sub + b"\x88" + bytes([len(sig)]) + rbytes(len(sig))
    crc = struct.pack(">I", crc24(pkt))[1:]
    return ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + wrap(b64(pkt), 64) + "\n=" + b64(crc)
            + "\n-----END PGP PRIVATE KEY BLOCK-----")


def encrypted_pkcs8() -> bytes:
    head = bytes.fromhex("304e06092a864886f70d01050d3041302906092a864886f70d01050c301c0408") + rbytes(8) \
        + bytes.fromhex("020208003014") + bytes.fromhex("06082a864886f70d030704") + b"\x08" + rbytes(8)
    # the IV above is AES-CBC style; ciphertext follows
    ct = rbytes(1232)
    body = head + b"\x04" + der_len(len(ct)) + ct
    return b"\x30" + der_len(len(body)) + body


KEY_SRC_PEM = "RFC 7468 textual encodings, https://www.rfc-editor.org/rfc/rfc7468"


def private_key_cases():
    mk = [
        ("rsa-pkcs1", "RSA PRIVATE KEY (PKCS#1, 2048-bit)", lambda: pem("RSA PRIVATE KEY", rsa_pkcs1_der()),
         "https://www.rfc-editor.org/rfc/rfc8017#appendix-A.1.2 ; " + KEY_SRC_PEM),
        ("ec-sec1", "EC PRIVATE KEY (SEC1, P-256)", lambda: pem("EC PRIVATE KEY", ec_der()),
         "https://www.rfc-editor.org/rfc/rfc5915"),
        ("openssh-ed25519", "OPENSSH PRIVATE KEY (openssh-key-v1, ed25519)",
         lambda: openssh_ed25519(f"{R.choice(['deploy', 'ci', 'backup'])}@{R.choice(PROJECTS)}"),
         "https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key"),
        ("pgp-private", "PGP PRIVATE KEY BLOCK (ASCII armor with CRC24)",
         lambda: pgp_private(f"{R.choice(PEOPLE)} Release Signing <release@{R.choice(PROJECTS)}.example.org>"),
         "https://www.rfc-editor.org/rfc/rfc4880#section-6.2"),
        ("pkcs8", "PRIVATE KEY (PKCS#8, RSA 2048)", lambda: pem("PRIVATE KEY", pkcs8_rsa_der()),
         "https://www.rfc-editor.org/rfc/rfc5208 ; " + KEY_SRC_PEM),
        ("pkcs8-encrypted", "ENCRYPTED PRIVATE KEY (PKCS#8 PBES2)", lambda: pem("ENCRYPTED PRIVATE KEY", encrypted_pkcs8()),
         "https://www.rfc-editor.org/rfc/rfc5958 ; " + KEY_SRC_PEM),
        ("rsa-legacy-encrypted", "RSA PRIVATE KEY with Proc-Type/DEK-Info (legacy OpenSSL encryption)",
         lambda: pem("RSA PRIVATE KEY", rbytes(1192), headers=f"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{rs(HEXU, 32)}\n\n"),
         "https://www.rfc-editor.org/rfc/rfc1421"),
    ]
    W = {
        "bastion": lambda k, p, who: T("key-bastion", "project", f"SSH key for the {p} bastion saved for future runs",
                                       f"Saved the key so future runs can reach the {p} bastion without asking {who}:\n\n```\n{k}\n```\n\n"
                                       f"Write it to `~/.ssh/{p}_deploy` with mode 600."),
        "deploykey": lambda k, p, who: T("key-deploy", "reference", f"Read-only deploy key for the acme/{p} repository",
                                         f"CI clones `acme/{p}` with this deploy key (read-only, added by {who}):\n\n{k}\n\n"
                                         "Put it in the runner as `GIT_SSH_KEY`."),
        "tls": lambda k, p, who: T("key-tls", "reference", f"TLS private key for {p}.example.com (renewed {R.choice(DAYS)})",
                                   f"Renewed the certificate for {p}.example.com. Key below; the cert chain is in the repo under "
                                   f"`deploy/tls/`.\n\n{k}\n\nnginx reloads it on SIGHUP."),
        "jwtsign": lambda k, p, who: T("key-jwt-signing", "project", f"Token signing key for {p} auth service",
                                       f"The auth service of {p} signs session tokens with this key; {who} wants the same key in "
                                       f"the local stack so tokens validate.\n\n```\n{k}\n```"),
        "pgp": lambda k, p, who: T("key-pgp-signing", "project", f"Release signing key {who} exported for {p}",
                                   f"{who} exported the release signing subkey for {p}. Import it in CI before `make release` "
                                   f"(`gpg --batch --import`).\n\n```text\n{k}\n```"),
        "passphrase": lambda k, p, who: T("key-with-passphrase", "reference", f"Encrypted key for the {p} mTLS client and its passphrase",
                                          f"Client key for mTLS to the partner API. Passphrase is `{strong_password()}`.\n\n{k}"),
    }
    uses = {"rsa-pkcs1": ["bastion", "tls"], "ec-sec1": ["tls", "jwtsign"], "openssh-ed25519": ["bastion", "deploykey"],
            "pgp-private": ["pgp", "pgp"], "pkcs8": ["jwtsign", "tls"], "pkcs8-encrypted": ["passphrase", "tls"],
            "rsa-legacy-encrypted": ["passphrase", "bastion"]}
    for slug, what, gen, src in mk:
        for j in range(2):
            k = gen()
            t = W[uses[slug][j]](k, R.choice(PROJECTS), R.choice(PEOPLE))
            add(f"privkey-{slug}", note(f"Private key block: {what}, random body of realistic length", src, GEN_NOTE), t)


def gcp_cases():
    for _ in range(3):
        proj = f"{R.choice(PROJECTS)}-{R.randint(100000, 999999)}"
        sa = R.choice(["deployer", "bq-loader", "ci-runner", "terraform"])
        keytext = pem("PRIVATE KEY", pkcs8_rsa_der()) + "\n"
        doc = {
            "type": "service_account", "project_id": proj, "private_key_id": rs(HEX, 40),
            "private_key": keytext,
            "client_email": f"{sa}@{proj}.iam.gserviceaccount.com", "client_id": digits(21),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
        }
        body = (f"Service-account key for `{sa}` in project `{proj}`, downloaded from the console so the loader can run "
                f"outside GCP:\n\n```json\n{json.dumps(doc, indent=2)}\n```")
        add("gcp-service-account-json",
            note("GCP service-account JSON key with \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n…\"",
                 "https://cloud.google.com/iam/docs/keys-create-delete", GEN_NOTE),
            T("gcp-json", "reference", f"GCP service account key JSON for {sa} ({proj})", body))


def azure_cases():
    forms = [
        lambda a, k: T("azure-env", "project", "Blob storage connection string for the export job",
                       f"Export job writes to blob storage. Connection string:\n\n```env\nAZURE_STORAGE_CONNECTION_STRING="
                       f"DefaultEndpointsProtocol=https;AccountName={a};AccountKey={k};EndpointSuffix=core.windows.net\n```"),
        lambda a, k: T("azure-appsettings", "reference", "appsettings.Production.json storage section",
                       "```json\n{\n  \"Storage\": {\n    \"ConnectionString\": \"DefaultEndpointsProtocol=https;AccountName="
                       f"{a};AccountKey={k};EndpointSuffix=core.windows.net\",\n    \"Container\": \"invoices\"\n  }}\n}}\n```"),
        lambda a, k: T("azure-prose", "project", f"Storage account {a} access for the migration",
                       f"For the migration, the storage account is {a} and its primary access key is {k} (from the "
                       "portal, Access keys blade). Rotate after the migration."),
    ]
    for f in forms:
        acct = R.choice(["acme", "north", "ledger", "media"]) + rs(LO + DIG, 8)
        add("azure-storage-connstr",
            note("Azure Storage connection string with AccountKey= 88-char base64",
                 "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string", GEN_NOTE),
            f(acct, b64(rbytes(64))))


def alibaba_secret_case():
    kid, sec = "LTAI" + rs(ALNUM, 20), rs(ALNUM, 30)
    add("alibaba-accesskey-pair", note("Alibaba Cloud AccessKey pair (LTAI id + 30-char secret)",
                                        "https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair", GEN_NOTE),
        T("alibaba-pair", "reference", "Alibaba Cloud OSS credentials for the CN mirror",
          f"CN mirror uploads use OSS in cn-hangzhou.\n\n- AccessKeyId: `{kid}`\n- AccessKeySecret: `{sec}`\n- Bucket: `mirror-cn`"))


def twilio_cases():
    src = "https://www.twilio.com/docs/iam/api-keys ; https://www.twilio.com/docs/iam/credentials/api"
    for i in range(3):
        sid, sk, tok = "AC" + rs(HEX, 32), "SK" + rs(HEX, 32), rs(HEX, 32)
        if i == 0:
            t = T("twilio-env", "project", "Twilio SMS settings for OTP delivery",
                  f"```env\nTWILIO_ACCOUNT_SID={sid}\nTWILIO_API_KEY={sk}\nTWILIO_API_SECRET={rs(ALNUM, 32)}\n```\n\nOTP messages go out from the +44 number.")
        elif i == 1:
            t = T("twilio-auth-token", "reference", "Twilio account SID and auth token for the SMS test",
                  f"For the SMS smoke test: account SID {sid}, auth token `{tok}`. Use the test number, not production.")
        else:
            t = T("twilio-python", "reference", "Twilio client in the alerting script",
                  f"```python\nfrom twilio.rest import Client\n\nclient = Client(\"{sk}\", \"{rs(ALNUM, 32)}\", \"{sid}\")\n```\n\n"
                  "API key SID + secret; the account SID goes third.")
        add(t["kind"], note("Twilio API key (SK + 32 hex) / account SID with auth token or API secret", src, GEN_NOTE), t)


def mailgun_extra():
    add("mailgun-curl", note("Mailgun private API key (key- + 32 hex) in a curl basic-auth call",
                             "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication/", GEN_NOTE),
        T("mailgun-curl", "reference", "curl command to send a test email via Mailgun",
          f"```sh\ncurl -s --user 'api:key-{rs(HEX, 32)}' \\\n  https://api.mailgun.net/v3/mg.{R.choice(PROJECTS)}.example/messages \\\n"
          "  -F from='Ops <ops@example.org>' -F to=you@example.org -F subject=test -F text=hello\n```"))


DB_SRC = {
    "postgres": "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS",
    "mysql": "https://dev.mysql.com/doc/refman/8.0/en/connecting-using-uri-or-key-value-pairs.html",
    "mongodb+srv": "https://www.mongodb.com/docs/manual/reference/connection-string/",
    "redis": "https://www.iana.org/assignments/uri-schemes/prov/redis",
    "amqp": "https://www.rabbitmq.com/docs/uri-spec",
}


def db_cases():
    urls = []
    for _ in range(3):
        urls.append(("postgres", f"postgres://{R.choice(['app', 'billing', 'analytics_ro', 'svc_ledger'])}:{url_password()}@"
                                  f"{R.choice(['db-prod-1.internal', 'pg.staging.example.net', '10.0.3.17'])}:5432/{R.choice(['app', 'billing', 'warehouse'])}"
                                  + R.choice(["", "?sslmode=require"])))
    for _ in range(2):
        urls.append(("mysql", f"mysql://{R.choice(['wp', 'shop', 'root'])}:{url_password()}@{R.choice(['mysql.internal', '172.16.4.20'])}:3306/{R.choice(['wordpress', 'shop'])}"))
    for _ in range(2):
        urls.append(("mongodb+srv", f"mongodb+srv://{R.choice(['api-user', 'reporting'])}:{url_password()}@cluster0.{rs(LO + DIG, 5)}.mongodb.net/"
                                     f"{R.choice(['events', 'catalog'])}?retryWrites=true&w=majority"))
    for _ in range(2):
        urls.append(("redis", R.choice([f"redis://default:{url_password()}@redis-{R.randint(10000, 19999)}.cache.example.net:6379/0",
                                        f"rediss://:{url_password()}@cache.internal:6380"])))
    for _ in range(2):
        urls.append(("amqp", f"amqp{R.choice(['', 's'])}://{R.choice(['orders', 'worker'])}:{url_password()}@rabbit.{R.choice(ENVS)}.internal:5672/{R.choice(['%2F', 'orders'])}"))
    forms = [
        lambda u, p: T("db-env", "project", f"DATABASE_URL for {p}",
                       f"`.env` for {p} after moving to the managed instance:\n\n```env\nDATABASE_URL={u}\nPOOL_SIZE={R.randint(5, 30)}\n```"),
        lambda u, p: T("db-prose", "project", f"Where the {p} data lives now",
                       f"The {p} data moved to the new cluster last week. Connect with {u} — the old host is read-only until it is deleted."),
        lambda u, p: T("db-yaml", "reference", f"Helm values override for {p} database",
                       f"```yaml\ndatabase:\n  url: \"{u}\"\n  migrateOnStart: true\n```\n\nUsed with `helm upgrade {p} ./chart -f values.{R.choice(ENVS)}.yaml`."),
        lambda u, p: T("db-cli", "reference", f"One-liner to open a shell on the {p} database",
                       f"Quickest way in when debugging {p}:\n\n```sh\n{R.choice(['psql', 'mongosh', 'redis-cli -u', 'mysql --uri'])} \"{u}\"\n```"),
    ]
    deck = Deck(forms)
    for scheme, u in urls:
        add(f"dburl-{scheme.replace('+', '-')}", note(f"{scheme} connection URL with a literal password", DB_SRC[scheme], GEN_NOTE),
            deck.draw()(u, R.choice(PROJECTS)))
    # JDBC
    for i in range(2):
        pw = url_password()
        if i == 0:
            s = (f"jdbc:sqlserver://sql-{R.choice(ENVS)}.database.windows.net:1433;database={R.choice(['orders', 'crm'])};"
                 f"user=app_rw;password={pw};encrypt=true")
            src = "https://learn.microsoft.com/en-us/sql/connect/jdbc/building-the-connection-url"
        else:
            s = f"jdbc:postgresql://pg.internal:5432/reports?user=reporter&password={pw}&ssl=true"
            src = "https://jdbc.postgresql.org/documentation/use/#connection-parameters"
        add("jdbc-password", note("JDBC URL with an inline password parameter", src, GEN_NOTE),
            T("jdbc", "reference", "Spring datasource URL for the reporting service",
              f"`application-prod.properties`:\n\n```properties\nspring.datasource.url={s}\nspring.jpa.hibernate.ddl-auto=validate\n```"))
    # pgpass / netrc
    add("pgpass-line", note("~/.pgpass entry host:port:db:user:password", "https://www.postgresql.org/docs/current/libpq-pgpass.html", GEN_NOTE),
        T("pgpass", "reference", "~/.pgpass line for the analytics replica",
          f"Added to `~/.pgpass` (chmod 600) so psql stops prompting:\n\n```\nreplica.analytics.internal:5432:warehouse:analyst:{url_password()}\n```"))


def jwt_cases():
    src = "RFC 7519 JSON Web Token, https://www.rfc-editor.org/rfc/rfc7519"
    for i in range(5):
        alg = R.choice(["HS256", "RS256", "ES256"])
        hdr = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
        iat = R.randint(1_700_000_000, 1_740_000_000)
        claims = {"sub": R.choice([digits(9), f"user_{rs(LO + DIG, 10)}"]), "iss": f"https://auth.{R.choice(PROJECTS)}.example.com",
                  "aud": R.choice(["api", "admin", "mobile"]), "iat": iat, "exp": iat + R.choice([3600, 86400, 2592000]),
                  "scope": R.choice(["read write", "admin", "orders:read orders:write"])}
        pay = b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = b64url(rbytes({"HS256": 32, "RS256": 256, "ES256": 64}[alg]))
        jwt = f"{hdr}.{pay}.{sig}"
        p = R.choice(PROJECTS)
        forms = [
            T("jwt-header", "reference", f"Bearer token that works against {p} admin API",
              f"This token works against the admin API (valid for a while):\n\n```http\nGET /admin/v1/users HTTP/1.1\nHost: {p}.example.com\n"
              f"Authorization: Bearer {jwt}\n```"),
            T("jwt-cookie", "project", f"Session cookie to reproduce the {p} dashboard bug",
              f"To reproduce the dashboard bug, set the session cookie in the browser devtools:\n\n`session={jwt}`\n\nThen open /reports/2024."),
            T("jwt-env", "project", f"Service-to-service token for {p}",
              f"```env\nINTERNAL_SERVICE_JWT={jwt}\n```\n\nMinted by {R.choice(PEOPLE)} with the signing key; long expiry on purpose."),
            T("jwt-prose", "user", "User's access token for the mobile API",
              f"The user shared their access token for the mobile API so I can replay requests: {jwt}. It carries admin scope."),
        ]
        t = forms[i % len(forms)]
        add(t["kind"], note(f"JWT ({alg}): three base64url parts, header eyJ…", src, GEN_NOTE), t)


GENERIC_SRC = "CWE-798 Use of Hard-coded Credentials, https://cwe.mitre.org/data/definitions/798.html"


def generic_cases():
    def hv():
        return R.choice([rs(ALNUM, R.randint(24, 40)), rs(HEX, 64), b64(rbytes(32)), strong_password(R.randint(16, 24)),
                         rs(URLSAFE, 43)])
    forms = [
        ("python", lambda v, p: T("py-settings", "reference", f"{p} Django settings: SECRET_KEY and DB password",
                                   f"`settings/production.py` on the box:\n\n```python\nSECRET_KEY = \"{v}\"\nDATABASES = {{\n"
                                   f"    \"default\": {{\"ENGINE\": \"django.db.backends.postgresql\", \"NAME\": \"{p}\",\n"
                                   f"                \"USER\": \"{p}\", \"PASSWORD\": \"{url_password()}\", \"HOST\": \"db\"}}\n}}\n```")),
        ("python", lambda v, p: T("py-requests", "reference", f"How the {p} exporter authenticates",
                                   f"```python\nresp = requests.post(\n    \"https://api.{p}.example.com/v2/export\",\n"
                                   f"    auth=(\"exporter\", \"{v}\"),\n    timeout=60,\n)\n```")),
        ("javascript", lambda v, p: T("js-config", "reference", f"{p} config.js secrets block",
                                       f"```js\nmodule.exports = {{\n  port: 8080,\n  jwtSecret: '{v}',\n  db: {{ host: 'db', password: '{url_password()}' }},\n}};\n```")),
        ("javascript", lambda v, p: T("js-const", "project", f"Webhook verification secret in {p}",
                                       f"Webhook verification in `src/hooks.js` uses a constant:\n\n```js\nconst webhookSecret = \"{v}\";\n```\n\nWe should move it to env.")),
        ("go", lambda v, p: T("go-const", "reference", f"{p} Go client constants",
                               f"```go\npackage client\n\nconst (\n\tbaseURL  = \"https://api.{p}.example.com\"\n\tapiToken = \"{v}\"\n)\n```")),
        ("go", lambda v, p: T("go-struct", "reference", f"OAuth config literal in {p} auth package",
                               f"```go\nvar oauthCfg = &oauth2.Config{{\n\tClientID:     \"{p}-web\",\n\tClientSecret: \"{v}\",\n"
                               f"\tRedirectURL:  \"https://{p}.example.com/callback\",\n}}\n```")),
        ("rust", lambda v, p: T("rs-const", "reference", f"{p} Rust API key constant",
                                 f"```rust\nconst API_KEY: &str = \"{v}\";\n\nfn headers() -> HeaderMap {{\n    let mut h = HeaderMap::new();\n"
                                 "    h.insert(\"x-api-key\", API_KEY.parse().unwrap());\n    h\n}\n```")),
        ("rust", lambda v, p: T("rs-let", "project", f"Temporary password in {p} seed binary",
                                 f"The seed binary creates the admin user with:\n\n```rust\nlet password = \"{strong_password(R.randint(14, 20))}\";\n"
                                 "db.create_admin(\"admin\", password).await?;\n```")),
        (".env", lambda v, p: T("dotenv", "project", f"{p} production .env (server copy)",
                                 f"```env\nAPP_ENV=production\nSESSION_SECRET={v}\nSMTP_PASSWORD={strong_password()}\n```")),
        ("yaml", lambda v, p: T("yaml-spring", "reference", f"{p} application.yml datasource",
                                 f"```yaml\nspring:\n  datasource:\n    url: jdbc:postgresql://db:5432/{p}\n    username: {p}\n"
                                 f"    password: {url_password()}\n```")),
        ("yaml", lambda v, p: T("yaml-compose", "project", f"Postgres service in {p} compose file",
                                 f"```yaml\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: {p}\n"
                                 f"      POSTGRES_PASSWORD: {strong_password(R.randint(16, 22))}\n```")),
        ("json", lambda v, p: T("json-oauth", "reference", f"OAuth client credentials for {p}",
                                 f"```json\n{{\n  \"client_id\": \"{p}-backend\",\n  \"client_secret\": \"{v}\",\n"
                                 f"  \"token_url\": \"https://login.{p}.example.com/oauth/token\"\n}}\n```")),
        ("toml", lambda v, p: T("toml-token", "reference", f"{p} deploy tool credentials file",
                                 f"`~/.config/{p}/credentials.toml`:\n\n```toml\n[default]\ntoken = \"{v}\"\n```")),
        ("shell", lambda v, p: T("sh-export", "project", f"Variables to export before running {p} e2e tests",
                                  f"Before `make e2e` export:\n\n```sh\nexport API_KEY={v}\nexport E2E_BASE_URL=https://{p}.staging.example.com\n```")),
        ("php", lambda v, p: T("php-wpconfig", "reference", "wp-config.php database settings on the marketing site",
                                f"```php\ndefine( 'DB_NAME', 'wp_marketing' );\ndefine( 'DB_USER', 'wp' );\n"
                                f"define( 'DB_PASSWORD', '{strong_password(R.randint(16, 22))}' );\ndefine( 'DB_HOST', 'localhost' );\n```")),
        ("ruby", lambda v, p: T("rb-secret-base", "reference", f"{p} Rails secret_key_base",
                                 f"```ruby\n# config/initializers/secret.rb\nRails.application.config.secret_key_base = \"{rs(HEX, 128)}\"\n```")),
        ("csharp", lambda v, p: T("cs-connstr", "reference", f"{p} SQL connection string in Program.cs",
                                   f"```csharp\nvar cs = \"Server=tcp:sql-{p}.internal,1433;Database={p};User Id=app;Password={url_password()};\";\n```")),
        ("hcl", lambda v, p: T("hcl-provider", "project", f"Provider block in {p} terraform",
                                f"```hcl\nprovider \"grafana\" {{\n  url  = \"https://grafana.{p}.example.com\"\n  auth = \"admin:{strong_password()}\"\n}}\n```")),
        ("ini", lambda v, p: T("ini-pypirc", "reference", "~/.pypirc for the internal index",
                                f"```ini\n[distutils]\nindex-servers = internal\n\n[internal]\nrepository = https://pypi.{p}.example.com/\n"
                                f"username = publisher\npassword = {v}\n```")),
        ("xml", lambda v, p: T("xml-maven", "reference", "Maven settings.xml server credentials",
                                f"```xml\n<servers>\n  <server>\n    <id>{p}-releases</id>\n    <username>deployer</username>\n"
                                f"    <password>{v}</password>\n  </server>\n</servers>\n```")),
        ("ansible", lambda v, p: T("ansible-vars", "project", f"group_vars for {p} hosts",
                                    f"`group_vars/{p}.yml`:\n\n```yaml\napp_user: {p}\napp_db_password: {strong_password(R.randint(16, 22))}\nencryption_key: {v}\n```")),
    ]
    for lang, f in forms:
        add(f"generic-{lang}", note(f"Generic hard-coded credential assignment ({lang})", GENERIC_SRC, GEN_NOTE), f(hv(), R.choice(PROJECTS)))


def http_auth_cases():
    bearer_src = "RFC 6750 Bearer tokens, https://www.rfc-editor.org/rfc/rfc6750 ; curl -H, https://curl.se/docs/manpage.html#-H"
    basic_src = "RFC 7617 HTTP Basic, https://www.rfc-editor.org/rfc/rfc7617"
    for i in range(3):
        tok = R.choice([rs(ALNUM, 40), rs(URLSAFE, 48), rs(HEX, 64)])
        p = R.choice(PROJECTS)
        add("curl-bearer", note("curl with -H \"Authorization: Bearer <token>\"", bearer_src, GEN_NOTE),
            T("curl-bearer", R.choice(["reference", "project"]), f"curl call that lists {p} jobs",
              f"Listing jobs on {p} from the terminal:\n\n```sh\ncurl -sS https://api.{p}.example.com/v1/jobs \\\n"
              f"  -H \"Authorization: Bearer {tok}\" \\\n  -H 'Accept: application/json' | jq '.items[].id'\n```"))
    for i in range(2):
        p = R.choice(PROJECTS)
        add("curl-user-pass", note("curl -u user:password", "https://curl.se/docs/manpage.html#-u", GEN_NOTE),
            T("curl-u", "reference", f"Pushing an artifact to the {p} registry by hand",
              f"Manual upload when the CI step is broken:\n\n```sh\ncurl -u deployer:{url_password()} -T dist/{p}.tar.gz \\\n"
              f"  https://artifacts.example.com/repository/{p}/\n```"))
    for i in range(3):
        user = R.choice(["admin", "svc-reports", "jenkins", "grafana-sync"])
        pw = strong_password()
        enc = b64(f"{user}:{pw}".encode())
        p = R.choice(PROJECTS)
        forms = [
            T("basic-header", "reference", f"Basic auth header for the {p} metrics endpoint",
              f"The metrics endpoint is behind basic auth. Header that works:\n\n`Authorization: Basic {enc}`"),
            T("basic-nginx", "project", f"Health probe config with basic auth for {p}",
              f"```yaml\nhttpGet:\n  path: /internal/health\n  port: 8080\n  httpHeaders:\n    - name: Authorization\n      value: Basic {enc}\n```"),
            T("basic-prose", "feedback", f"Jenkins API needs basic auth for {p} jobs",
              f"Jenkins rejects anonymous API calls now. Send `Authorization: Basic {enc}` when triggering {p} jobs."),
        ]
        add("basic-auth", note("Authorization: Basic base64(user:password)", basic_src, GEN_NOTE), forms[i])
    for i in range(2):
        tok = checksummed("ghp_") if i == 0 else "glpat-" + rs(URLSAFE, 20)
        host = "github.com" if i == 0 else "gitlab.com"
        add("git-url-token", note("HTTPS git remote with an embedded token (user:token@host)",
                                  "https://git-scm.com/docs/git-credential-store#_storage_format", GEN_NOTE),
            T("git-remote", "project", "Git remote that works from the build box",
              f"SSH is blocked from the build box, so the remote is set to\n\n```sh\ngit remote set-url origin "
              f"https://oauth2:{tok}@{host}/acme/{R.choice(PROJECTS)}.git\n```"))
    add("netrc", note(".netrc machine/login/password entry", "https://everything.curl.dev/usingcurl/netrc.html", GEN_NOTE),
        T("netrc", "reference", "~/.netrc entry for the artifact server",
          f"```\nmachine artifacts.example.com\n  login deployer\n  password {url_password()}\n```"))


def prose_password_cases():
    forms = [
        "The staging password is {pw} (user `admin`). {person} said it's fine to reuse it for the demo.",
        "Wi-Fi in the lab: network `acme-lab`, password {pw}.",
        "Root password for the old MySQL box (mysql-legacy-2) is {pw} — needed for the final dump before shutdown.",
        "SFTP for the payroll vendor: host sftp.payroll-vendor.example, user acme_upload, password {pw}.",
        "The shared ops mailbox login is ops@acme.example / {pw}; 2FA is off for it, unfortunately.",
        "VPN pre-shared key for the site-to-site tunnel: {pw}",
        "Android keystore password for release builds: {pw} (alias `upload`).",
        "{person}'s admin login on the router is admin / {pw}; we need it again to open port {port}.",
    ]
    for i, f in enumerate(forms):
        pw = strong_password()
        txt = f.format(pw=pw, person=R.choice(PEOPLE), port=R.choice([2222, 8443, 51820]))
        if i in (1, 5):  # some in the description
            desc = txt if len(txt.encode()) <= 150 else txt[:140]
            body = R.choice(["Noted during setup so I don't have to ask again next session.",
                             "Saved for the next visit; the sticker on the device is faded."])
            t = T("prose-desc", "reference", desc, body)
        else:
            lead = R.choice(["Note from today's session.", "Ops detail to keep:", "Context for the next run:", ""])
            t = T("prose", R.choice(["project", "user", "reference"]), R.choice(
                ["Login details noted during the session", "Access detail for the legacy box",
                 "Credentials the user mentioned in passing", "Ops access note"]), (lead + "\n\n" + txt).strip())
        add("prose-password", note("Plain-prose password disclosure", GENERIC_SRC, "Random password; not real."), t)


def main():
    deck = Deck(GENERIC_TEMPLATES)
    aws_cases()
    for sp in SPECS:
        render_spec(sp, deck)
    gcp_cases()
    azure_cases()
    alibaba_secret_case()
    twilio_cases()
    mailgun_extra()
    db_cases()
    private_key_cases()
    jwt_cases()
    generic_cases()
    http_auth_cases()
    prose_password_cases()
    path = C.write()
    print(f"wrote {len(C.cases)} cases to {path} ({len(SPECS)} token formats via templates)")


if __name__ == "__main__":
    main()
