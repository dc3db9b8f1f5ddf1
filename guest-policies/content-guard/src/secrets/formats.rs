//! The list of credential formats the [`catalogue`](super::catalogue)
//! matches: one line per format, grouped by kind of provider. Formats come
//! from the providers' own documentation where they publish one; where
//! they only publish a prefix, lengths are bounded generously and the body
//! must look random.

use super::catalogue::{Check, Format, Part};
use super::class::{
    ALNUM, ALPHA, BASE32, BASE64, DASH, DIGIT, DOT, EQUALS, HEX, HEX_ANY, LOWER_ALNUM, PERCENT, UNDERSCORE,
    UPPER_ALNUM, URLSAFE,
};

const fn n(alphabet: u32, len: u16) -> Part {
    Part::Run { alphabet, min: len, max: len }
}
const fn span(alphabet: u32, min: u16, max: u16) -> Part {
    Part::Run { alphabet, min, max }
}
const fn lit(bytes: &'static [u8]) -> Part {
    Part::Lit(bytes)
}
const fn f(kind: &'static str, prefix: &'static [u8], body: &'static [Part], check: Check) -> Format {
    Format { kind, prefix, body, check }
}

/// `8-4-4-4-12` lowercase hex.
const UUID: &[Part] =
    &[n(HEX, 8), lit(b"-"), n(HEX, 4), lit(b"-"), n(HEX, 4), lit(b"-"), n(HEX, 4), lit(b"-"), n(HEX, 12)];
/// GitHub classic and npm: 30 random base62 characters and a 6-character checksum.
const CRC_BODY: &[Part] = &[n(ALNUM, 36)];
const AWS_KEY: &[Part] = &[n(BASE32, 16)];
/// AWS unique ids (users, roles, groups…) run one character longer than keys.
const AWS_ID: &[Part] = &[span(BASE32, 16, 17)];
const HEX32: &[Part] = &[n(HEX, 32)];
const HEX40: &[Part] = &[n(HEX, 40)];
const HEX64: &[Part] = &[n(HEX, 64)];
/// Tokens whose documented form is only "prefix, then opaque characters".
const OPAQUE: &[Part] = &[span(URLSAFE, 20, 400)];
const GITLAB: &[Part] = &[span(URLSAFE, 20, 320)];
const ATLASSIAN: &[Part] = &[span(URLSAFE | EQUALS, 100, 300)];
const ANTHROPIC: &[Part] = &[n(URLSAFE, 93), lit(b"AA")];
const OPENAI: &[Part] = &[span(URLSAFE, 40, 300)];
const SHOPIFY: &[Part] = &[n(HEX_ANY, 32)];
const DOPPLER: &[Part] = &[n(ALNUM, 43)];
const PSCALE: &[Part] = &[span(URLSAFE | DOT | EQUALS, 32, 64)];
const VAULT: &[Part] = &[span(URLSAFE, 24, 300)];
const DYNATRACE: &[Part] = &[n(UPPER_ALNUM, 24), lit(b"."), n(UPPER_ALNUM, 64)];
const TAILSCALE: &[Part] = &[span(ALNUM, 6, 24), lit(b"-"), span(ALNUM, 16, 64)];
const SONAR: &[Part] = HEX40;

/// Every catalogued format. Within one first byte, earlier entries win, so
/// specific shapes come before general ones (`sk-ant-` before `sk-`).
pub(super) const CATALOGUE: &[Format] = &[
    // Cloud: AWS.
    f("an AWS access key id", b"AKIA", AWS_KEY, Check::Shape),
    f("an AWS temporary access key id", b"ASIA", AWS_KEY, Check::Shape),
    f("an AWS STS bearer token id", b"ABIA", AWS_KEY, Check::Shape),
    f("an AWS context-specific credential id", b"ACCA", AWS_KEY, Check::Shape),
    f("an AWS IAM group id", b"AGPA", AWS_ID, Check::Shape),
    f("an AWS IAM user id", b"AIDA", AWS_ID, Check::Shape),
    f("an AWS IAM role id", b"AROA", AWS_ID, Check::Shape),
    f("an AWS managed policy id", b"ANPA", AWS_ID, Check::Shape),
    f("an AWS managed policy version id", b"ANVA", AWS_ID, Check::Shape),
    f("an AWS instance profile id", b"AIPA", AWS_ID, Check::Shape),
    f("an AWS public key id", b"APKA", AWS_ID, Check::Shape),
    f("an AWS server certificate id", b"ASCA", AWS_ID, Check::Shape),
    // Cloud: Google.
    f("a Google API key", b"AIza", &[n(URLSAFE, 35)], Check::Shape),
    f("a Google OAuth client secret", b"GOCSPX-", &[n(URLSAFE, 28)], Check::Shape),
    f("a Google OAuth access token", b"ya29.", &[span(URLSAFE, 30, 2000)], Check::Random),
    f("a Google OAuth refresh token", b"1//0", &[span(URLSAFE, 40, 512)], Check::Random),
    // Cloud: Azure and Microsoft.
    f("an Azure storage account key", b"AccountKey=", &[n(BASE64, 86), lit(b"==")], Check::Shape),
    f("an Azure shared access key", b"SharedAccessKey=", &[n(BASE64, 43), lit(b"=")], Check::Shape),
    f(
        "an Azure shared access signature",
        b"sig=",
        &[span(BASE64 | PERCENT | EQUALS, 40, 80)],
        Check::Near(&[b"sv=", b"sr=", b"sp=", b"se=", b"skoid="]),
    ),
    f(
        "a Microsoft Teams webhook URL",
        b"webhook.office.com/webhookb2/",
        &[n(HEX | DASH, 36), lit(b"@"), n(HEX | DASH, 36), lit(b"/IncomingWebhook/"), n(HEX, 32), lit(b"/")],
        Check::Shape,
    ),
    f(
        "a Microsoft Teams webhook URL",
        b"outlook.office.com/webhook/",
        &[n(HEX | DASH, 36), lit(b"@"), n(HEX | DASH, 36), lit(b"/IncomingWebhook/"), n(HEX, 32), lit(b"/")],
        Check::Shape,
    ),
    // Cloud: others.
    f("a DigitalOcean personal access token", b"dop_v1_", HEX64, Check::Shape),
    f("a DigitalOcean OAuth token", b"doo_v1_", HEX64, Check::Shape),
    f("a DigitalOcean refresh token", b"dor_v1_", HEX64, Check::Shape),
    f("an Alibaba Cloud AccessKey id", b"LTAI", &[span(ALNUM, 12, 20)], Check::Random),
    f("a Heroku API key", b"HRKU-", &[span(URLSAFE, 40, 80)], Check::Random),
    f("a Fly.io access token", b"fo1_", &[n(URLSAFE, 43)], Check::Shape),
    f("a Fly.io macaroon token", b"FlyV1 fm2_", &[span(BASE64 | UNDERSCORE | DASH | EQUALS, 100, 4000)], Check::Shape),
    f("a Netlify personal access token", b"nfp_", &[span(ALNUM, 36, 40)], Check::Shape),
    f("a Render API key", b"rnd_", &[n(ALNUM, 32)], Check::Random),
    f("a Deno Deploy access token", b"ddp_", &[n(ALNUM, 36)], Check::Shape),
    f("a Pulumi access token", b"pul-", HEX40, Check::Shape),
    f("a Tailscale API access token", b"tskey-api-", TAILSCALE, Check::Shape),
    f("a Tailscale auth key", b"tskey-auth-", TAILSCALE, Check::Shape),
    f("a Tailscale OAuth client secret", b"tskey-client-", TAILSCALE, Check::Shape),
    f("a Tailscale SCIM key", b"tskey-scim-", TAILSCALE, Check::Shape),
    f("a Tailscale webhook key", b"tskey-webhook-", TAILSCALE, Check::Shape),
    // Version control and CI.
    f("a GitHub personal access token", b"ghp_", CRC_BODY, Check::Crc32("a GitHub token with a bad checksum")),
    f("a GitHub OAuth access token", b"gho_", CRC_BODY, Check::Crc32("a GitHub token with a bad checksum")),
    f("a GitHub user-to-server token", b"ghu_", CRC_BODY, Check::Crc32("a GitHub token with a bad checksum")),
    f("a GitHub server-to-server token", b"ghs_", CRC_BODY, Check::Crc32("a GitHub token with a bad checksum")),
    f("a GitHub refresh token", b"ghr_", CRC_BODY, Check::Crc32("a GitHub token with a bad checksum")),
    f("a GitHub refresh token", b"ghr_", &[span(ALNUM, 70, 80)], Check::Random),
    f(
        "a GitHub fine-grained personal access token",
        b"github_pat_",
        &[n(ALNUM, 22), lit(b"_"), n(ALNUM, 59)],
        Check::Shape,
    ),
    f("a GitLab personal access token", b"glpat-", GITLAB, Check::Shape),
    f("a GitLab deploy token", b"gldt-", GITLAB, Check::Shape),
    f("a GitLab runner authentication token", b"glrt-", GITLAB, Check::Shape),
    f("a GitLab pipeline trigger token", b"glptt-", GITLAB, Check::Shape),
    f("a GitLab SCIM token", b"glsoat-", GITLAB, Check::Shape),
    f("a GitLab feed token", b"glft-", GITLAB, Check::Shape),
    f("a GitLab incoming mail token", b"glimt-", GITLAB, Check::Shape),
    f("a GitLab agent token", b"glagent-", GITLAB, Check::Shape),
    f("a GitLab OAuth application secret", b"gloas-", GITLAB, Check::Shape),
    f("a GitLab CI/CD job token", b"glcbt-", &[span(ALNUM, 1, 5), lit(b"_"), span(URLSAFE, 20, 320)], Check::Shape),
    f("a GitLab runner registration token", b"GR1348941", &[span(URLSAFE, 20, 40)], Check::Shape),
    f("an Atlassian API token", b"ATATT3", ATLASSIAN, Check::Shape),
    f("a Bitbucket access token", b"ATCTT3", ATLASSIAN, Check::Shape),
    f("a Bitbucket app password", b"ATBB", &[span(ALNUM, 28, 40)], Check::Random),
    f("a Trello API token", b"ATTA", &[span(HEX_ANY, 64, 72)], Check::Shape),
    f("a Buildkite API token", b"bkua_", HEX40, Check::Shape),
    f("a CircleCI personal API token", b"CCIPAT_", &[n(ALNUM, 22), lit(b"_"), n(HEX, 40)], Check::Shape),
    f("a CircleCI project API token", b"CCIPRJ_", &[n(ALNUM, 22), lit(b"_"), n(HEX, 40)], Check::Shape),
    f("a SonarQube user token", b"squ_", SONAR, Check::Shape),
    f("a SonarQube project analysis token", b"sqp_", SONAR, Check::Shape),
    f("a SonarQube global analysis token", b"sqa_", SONAR, Check::Shape),
    f("an Octopus Deploy API key", b"API-", &[span(UPPER_ALNUM, 25, 32)], Check::Random),
    f("a Sourcegraph access token", b"sgp_", &[n(HEX, 16), lit(b"_"), n(HEX, 40)], Check::Shape),
    f("a Sourcegraph access token", b"sgp_", HEX40, Check::Shape),
    f("a Terraform Cloud API token", b"atlasv1.", &[span(URLSAFE | EQUALS, 60, 80)], Check::Shape),
    // Chat and collaboration.
    f(
        "a Slack bot token",
        b"xoxb-",
        &[span(DIGIT, 8, 14), lit(b"-"), span(DIGIT, 8, 14), lit(b"-"), span(ALNUM, 20, 40)],
        Check::Shape,
    ),
    f(
        "a Slack user token",
        b"xoxp-",
        &[
            span(DIGIT, 8, 14),
            lit(b"-"),
            span(DIGIT, 8, 14),
            lit(b"-"),
            span(DIGIT, 8, 14),
            lit(b"-"),
            span(ALNUM, 28, 40),
        ],
        Check::Shape,
    ),
    f("a Slack workspace token", b"xoxa-", OPAQUE, Check::Random),
    f("a Slack refresh token", b"xoxr-", OPAQUE, Check::Random),
    f("a Slack session token", b"xoxs-", OPAQUE, Check::Random),
    f("a Slack configuration token", b"xoxe.xoxp-", OPAQUE, Check::Random),
    f("a Slack configuration refresh token", b"xoxe-", OPAQUE, Check::Random),
    f(
        "a Slack app-level token",
        b"xapp-",
        &[
            n(DIGIT, 1),
            lit(b"-"),
            span(UPPER_ALNUM, 8, 12),
            lit(b"-"),
            span(DIGIT, 10, 16),
            lit(b"-"),
            span(HEX, 60, 66),
        ],
        Check::Shape,
    ),
    f(
        "a Slack incoming webhook URL",
        b"hooks.slack.com/services/T",
        &[span(UPPER_ALNUM, 8, 12), lit(b"/B"), span(UPPER_ALNUM, 8, 12), lit(b"/"), span(ALNUM, 23, 25)],
        Check::Shape,
    ),
    f(
        "a Slack workflow webhook URL",
        b"hooks.slack.com/triggers/T",
        &[span(UPPER_ALNUM, 8, 12), lit(b"/"), span(DIGIT, 8, 16), lit(b"/"), span(HEX, 30, 34)],
        Check::Shape,
    ),
    f(
        "a Discord webhook URL",
        b"discord.com/api/webhooks/",
        &[span(DIGIT, 17, 20), lit(b"/"), span(URLSAFE, 60, 70)],
        Check::Shape,
    ),
    f(
        "a Discord webhook URL",
        b"discordapp.com/api/webhooks/",
        &[span(DIGIT, 17, 20), lit(b"/"), span(URLSAFE, 60, 70)],
        Check::Shape,
    ),
    f("a Linear API key", b"lin_api_", &[n(ALNUM, 40)], Check::Shape),
    f("a Linear OAuth token", b"lin_oauth_", HEX64, Check::Shape),
    f("a Notion integration token", b"ntn_", &[n(ALNUM, 46)], Check::Random),
    f("a Notion integration token", b"secret_", &[n(ALNUM, 43)], Check::Random),
    f("a Figma personal access token", b"figd_", &[span(URLSAFE, 38, 44)], Check::Shape),
    f("an Airtable personal access token", b"pat", &[n(ALNUM, 14), lit(b"."), n(HEX, 64)], Check::Shape),
    f("a ClickUp personal API token", b"pk_", &[span(DIGIT, 6, 10), lit(b"_"), n(UPPER_ALNUM, 32)], Check::Shape),
    f(
        "a HubSpot private app token",
        b"pat-",
        &[
            n(LOWER_ALNUM, 3),
            lit(b"-"),
            n(HEX, 8),
            lit(b"-"),
            n(HEX, 4),
            lit(b"-"),
            n(HEX, 4),
            lit(b"-"),
            n(HEX, 4),
            lit(b"-"),
            n(HEX, 12),
        ],
        Check::Shape,
    ),
    f(
        "an Asana personal access token",
        b"2/",
        &[span(DIGIT, 10, 20), lit(b"/"), span(DIGIT, 10, 20), lit(b":"), n(HEX, 32)],
        Check::Shape,
    ),
    f("a Postman API key", b"PMAK-", &[n(HEX, 24), lit(b"-"), n(HEX, 34)], Check::Shape),
    f("a Contentful personal access token", b"CFPAT-", &[n(URLSAFE, 43)], Check::Shape),
    f("a Frame.io developer token", b"fio-u-", &[n(URLSAFE | EQUALS, 64)], Check::Shape),
    f("a Typeform personal access token", b"tfp_", &[span(URLSAFE, 40, 70)], Check::Random),
    f("a Dropbox access token", b"sl.", &[span(URLSAFE | DOT, 100, 1500)], Check::Random),
    f("a Twitter bearer token", b"AAAAAAAAAAAAAAAAAAAAA", &[span(ALNUM | PERCENT, 50, 120)], Check::Random),
    f(
        "a Firebase Cloud Messaging server key",
        b"AAAA",
        &[n(URLSAFE, 7), lit(b":"), span(URLSAFE, 134, 150)],
        Check::Shape,
    ),
    // Payments.
    f("a Stripe live secret key", b"sk_live_", &[span(ALNUM, 24, 247)], Check::Shape),
    f("a Stripe test secret key", b"sk_test_", &[span(ALNUM, 24, 247)], Check::Shape),
    f("a Stripe live restricted key", b"rk_live_", &[span(ALNUM, 24, 247)], Check::Shape),
    f("a Stripe test restricted key", b"rk_test_", &[span(ALNUM, 24, 247)], Check::Shape),
    f("a Stripe webhook signing secret", b"whsec_", &[span(ALNUM, 32, 64)], Check::Shape),
    f("a Square access token", b"EAAA", &[n(URLSAFE, 60)], Check::Shape),
    f("a Square OAuth access token", b"sq0atp-", &[n(URLSAFE, 22)], Check::Shape),
    f("a Square application secret", b"sq0csp-", &[n(URLSAFE, 43)], Check::Shape),
    f(
        "a Braintree production access token",
        b"access_token$production$",
        &[n(LOWER_ALNUM, 16), lit(b"$"), n(HEX, 32)],
        Check::Shape,
    ),
    f(
        "a Braintree sandbox access token",
        b"access_token$sandbox$",
        &[n(LOWER_ALNUM, 16), lit(b"$"), n(HEX, 32)],
        Check::Shape,
    ),
    f("a Plaid production access token", b"access-production-", UUID, Check::Shape),
    f("a Plaid sandbox access token", b"access-sandbox-", UUID, Check::Shape),
    f("a Shopify admin API access token", b"shpat_", SHOPIFY, Check::Shape),
    f("a Shopify custom app access token", b"shpca_", SHOPIFY, Check::Shape),
    f("a Shopify private app password", b"shppa_", SHOPIFY, Check::Shape),
    f("a Shopify shared secret", b"shpss_", SHOPIFY, Check::Shape),
    f("a Shippo live API token", b"shippo_live_", HEX40, Check::Shape),
    f("a Shippo test API token", b"shippo_test_", HEX40, Check::Shape),
    f("a Flutterwave secret key", b"FLWSECK-", &[n(HEX, 32), lit(b"-X")], Check::Shape),
    f("a Flutterwave test secret key", b"FLWSECK_TEST-", &[n(HEX, 32), lit(b"-X")], Check::Shape),
    f("a Razorpay live key id", b"rzp_live_", &[n(ALNUM, 14)], Check::Shape),
    f("a Razorpay test key id", b"rzp_test_", &[n(ALNUM, 14)], Check::Shape),
    f(
        "a Salesforce access token",
        b"00D",
        &[span(ALNUM, 12, 15), lit(b"!"), span(URLSAFE | DOT, 80, 130)],
        Check::Shape,
    ),
    // Email and messaging.
    f("a SendGrid API key", b"SG.", &[n(URLSAFE, 22), lit(b"."), n(URLSAFE, 43)], Check::Shape),
    f("a Mailgun API key", b"key-", HEX32, Check::Shape),
    f("a Brevo API key", b"xkeysib-", &[n(HEX, 64), lit(b"-"), n(ALNUM, 16)], Check::Shape),
    f("a Brevo SMTP key", b"xsmtpsib-", &[n(HEX, 64), lit(b"-"), n(ALNUM, 16)], Check::Shape),
    f("a Resend API key", b"re_", &[span(ALNUM, 8, 12), lit(b"_"), span(ALNUM, 20, 32)], Check::Random),
    f("a Twilio API key", b"SK", HEX32, Check::Near(&[b"twilio"])),
    f("a Twilio account SID and auth token", b"AC", HEX32, Check::ThenHex32),
    // Package registries.
    f("an npm access token", b"npm_", CRC_BODY, Check::Crc32("an npm token with a bad checksum")),
    f("a PyPI API token", b"pypi-AgEIcHlwaS5vcmc", &[span(URLSAFE, 50, 400)], Check::Shape),
    f("a TestPyPI API token", b"pypi-AgENdGVzdC5weXBpLm9yZw", &[span(URLSAFE, 50, 400)], Check::Shape),
    f("a RubyGems API key", b"rubygems_", &[n(HEX, 48)], Check::Shape),
    f("a NuGet API key", b"oy2", &[n(LOWER_ALNUM, 43)], Check::Random),
    f("a Docker Hub personal access token", b"dckr_pat_", &[n(URLSAFE, 27)], Check::Shape),
    f("a Docker Hub organization access token", b"dckr_oat_", &[span(URLSAFE, 27, 40)], Check::Shape),
    f("a crates.io API token", b"cio", &[n(ALNUM, 32)], Check::Random),
    f("a Clojars deploy token", b"CLOJARS_", &[n(HEX, 60)], Check::Shape),
    f("a JFrog API key", b"AKCp", &[span(ALNUM, 69, 73)], Check::Shape),
    f("a JFrog reference token", b"cmVmdGtuOjAxOj", &[span(ALNUM, 40, 60)], Check::Shape),
    // AI providers.
    f("an OpenAI project API key", b"sk-proj-", OPENAI, Check::Random),
    f("an OpenAI service account key", b"sk-svcacct-", OPENAI, Check::Random),
    f("an OpenAI admin key", b"sk-admin-", OPENAI, Check::Random),
    f("an OpenAI API key", b"sk-", &[n(ALNUM, 20), lit(b"T3BlbkFJ"), n(ALNUM, 20)], Check::Shape),
    f("an Anthropic API key", b"sk-ant-api03-", ANTHROPIC, Check::Shape),
    f("an Anthropic admin key", b"sk-ant-admin01-", ANTHROPIC, Check::Shape),
    f("an Anthropic OAuth token", b"sk-ant-oat01-", ANTHROPIC, Check::Shape),
    f("an OpenRouter API key", b"sk-or-v1-", HEX64, Check::Shape),
    f("an API secret key", b"sk-", &[span(URLSAFE, 32, 200)], Check::Random),
    f("an ElevenLabs API key", b"sk_", &[n(HEX, 48)], Check::Shape),
    f("a Hugging Face access token", b"hf_", &[n(ALPHA, 34)], Check::Letters),
    f("a Hugging Face organization token", b"api_org_", &[n(ALPHA, 34)], Check::Letters),
    f("a Replicate API token", b"r8_", &[n(ALNUM, 37)], Check::Shape),
    f("a Groq API key", b"gsk_", &[n(ALNUM, 52)], Check::Shape),
    f("a Perplexity API key", b"pplx-", &[n(ALNUM, 48)], Check::Shape),
    f("an xAI API key", b"xai-", &[n(ALNUM, 80)], Check::Shape),
    f("a LangSmith personal access token", b"lsv2_pt_", &[n(HEX, 32), lit(b"_"), n(HEX, 10)], Check::Shape),
    f("a LangSmith service key", b"lsv2_sk_", &[n(HEX, 32), lit(b"_"), n(HEX, 10)], Check::Shape),
    f("a Pinecone API key", b"pcsk_", &[span(ALNUM, 4, 8), lit(b"_"), span(ALNUM, 50, 80)], Check::Shape),
    // Databases and data platforms.
    f("a Databricks access token", b"dapi", HEX32, Check::Shape),
    f("a PlanetScale database password", b"pscale_pw_", PSCALE, Check::Shape),
    f("a PlanetScale service token", b"pscale_tkn_", PSCALE, Check::Shape),
    f("a PlanetScale OAuth token", b"pscale_oauth_", PSCALE, Check::Shape),
    f("a Supabase personal access token", b"sbp_", HEX40, Check::Shape),
    f("a Supabase secret API key", b"sb_secret_", &[span(URLSAFE, 20, 64)], Check::Random),
    // Secrets management and infrastructure.
    f("a HashiCorp Vault service token", b"hvs.", VAULT, Check::Shape),
    f("a HashiCorp Vault batch token", b"hvb.", VAULT, Check::Shape),
    f("a HashiCorp Vault recovery token", b"hvr.", VAULT, Check::Shape),
    f("a Doppler personal token", b"dp.pt.", DOPPLER, Check::Shape),
    f("a Doppler service token", b"dp.st.", &[span(URLSAFE, 2, 35), lit(b"."), n(ALNUM, 43)], Check::Shape),
    f("a Doppler service account token", b"dp.sa.", DOPPLER, Check::Shape),
    f("a Doppler CLI token", b"dp.ct.", DOPPLER, Check::Shape),
    f("a Doppler SCIM token", b"dp.scim.", DOPPLER, Check::Shape),
    f("a Doppler audit token", b"dp.audit.", DOPPLER, Check::Shape),
    f("a 1Password service account token", b"ops_eyJ", &[span(URLSAFE | EQUALS, 100, 2000)], Check::Shape),
    f("an age secret key", b"AGE-SECRET-KEY-1", &[n(UPPER_ALNUM, 58)], Check::Bech32),
    f(
        "a Harness personal access token",
        b"pat.",
        &[n(URLSAFE, 22), lit(b"."), n(HEX, 24), lit(b"."), n(ALNUM, 20)],
        Check::Shape,
    ),
    f(
        "a Harness service account token",
        b"sat.",
        &[n(URLSAFE, 22), lit(b"."), n(HEX, 24), lit(b"."), n(ALNUM, 20)],
        Check::Shape,
    ),
    f("a LaunchDarkly API access token", b"api-", UUID, Check::Shape),
    f("a LaunchDarkly SDK key", b"sdk-", UUID, Check::Shape),
    // Observability.
    f("a New Relic user API key", b"NRAK-", &[n(UPPER_ALNUM, 27)], Check::Shape),
    f("a New Relic insights insert key", b"NRII-", &[n(URLSAFE, 32)], Check::Shape),
    f("a New Relic insights query key", b"NRIQ-", &[n(URLSAFE, 32)], Check::Shape),
    f("a New Relic browser API key", b"NRJS-", &[n(HEX, 19)], Check::Shape),
    f(
        "a Sentry organization auth token",
        b"sntrys_eyJ",
        &[span(BASE64 | EQUALS, 40, 600), lit(b"_"), span(BASE64, 40, 50)],
        Check::Shape,
    ),
    f("a Sentry user auth token", b"sntryu_", HEX64, Check::Shape),
    f("a Grafana Cloud access policy token", b"glc_", &[span(BASE64 | EQUALS, 32, 400)], Check::Random),
    f("a Grafana service account token", b"glsa_", &[n(ALNUM, 32), lit(b"_"), n(HEX, 8)], Check::Shape),
    f("a Dynatrace API token", b"dt0c01.", DYNATRACE, Check::Shape),
    f("a Dynatrace access token", b"dt0s01.", DYNATRACE, Check::Shape),
    f("a Dynatrace platform token", b"dt0s16.", DYNATRACE, Check::Shape),
    // Maps, IoT and the rest.
    f(
        "a Mapbox secret access token",
        b"sk.eyJ",
        &[span(URLSAFE, 20, 300), lit(b"."), span(URLSAFE, 20, 32)],
        Check::Shape,
    ),
    f("an Adafruit IO key", b"aio_", &[n(ALNUM, 28)], Check::Shape),
    f("a Prefect API key", b"pnu_", &[n(ALNUM, 36)], Check::Shape),
];
