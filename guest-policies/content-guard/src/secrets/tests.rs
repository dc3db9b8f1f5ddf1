//! Tests for secret detection: a generated token for every catalogue entry,
//! the prefix-less shapes, named assignments in the forms notes quote them,
//! and a table of look-alikes that must pass.

use super::catalogue::{Check, Format, Part};
use super::class;
use super::formats::CATALOGUE;
use super::vendor::{BOUND, Shape};
use super::{checksum, find, value};

/// xorshift64: deterministic, so a failure names the same token every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pick(&mut self, pool: &[u8]) -> u8 {
        // The high bits: xorshift's low bits are its weakest.
        pool[((self.next() >> 32) % pool.len() as u64) as usize]
    }

    fn string(&mut self, alphabet: u32, len: usize) -> String {
        let pool = pool(alphabet);
        (0..len).map(|_| char::from(self.pick(&pool))).collect()
    }
}

/// The ASCII bytes of `alphabet`. Percent signs stay out: real tokens only
/// carry them as `%2B`-style escapes.
fn pool(alphabet: u32) -> Vec<u8> {
    (0u8..128).filter(|&b| class::is(b, alphabet) && b != b'%').collect()
}

/// A token of `format` with random parts and a valid checksum.
fn generate(format: &Format, rng: &mut Rng) -> String {
    let mut token = String::from_utf8(format.prefix.to_vec()).unwrap();
    for part in format.body {
        match *part {
            Part::Lit(bytes) => token.push_str(std::str::from_utf8(bytes).unwrap()),
            Part::Run { alphabet, min, max } => {
                let len = usize::from(min) + usize::from((max - min).min(16)) / 2;
                token.push_str(&rng.string(alphabet, len));
            }
        }
    }
    let body = format.prefix.len();
    match format.check {
        Check::Crc32(_) => {
            let random = token[body..body + 30].to_owned();
            let crc = checksum::base62_6(checksum::crc32(random.as_bytes()));
            token.truncate(body + 30);
            token.push_str(std::str::from_utf8(&crc).unwrap());
        }
        Check::Bech32 => {
            let data: String = (0..52).map(|_| char::from(rng.pick(checksum::BECH32))).collect::<String>();
            let data = data.to_ascii_uppercase();
            let crc = checksum::bech32_checksum(b"age-secret-key-", data.as_bytes()).unwrap();
            token.truncate(body);
            token.push_str(&data);
            token.push_str(&String::from_utf8(crc.to_vec()).unwrap().to_ascii_uppercase());
        }
        _ => {}
    }
    token
}

/// A sentence carrying `token`, with the context some formats need.
fn sentence(format: &Format, token: &str, rng: &mut Rng) -> String {
    match format.check {
        Check::Near(words) => format!("{} deploy with {token} today", std::str::from_utf8(words[0]).unwrap()),
        Check::ThenHex32 => format!("login {token}:{} now", rng.string(class::HEX, 32)),
        _ => format!("deploy with {token} today"),
    }
}

#[test]
fn every_catalogue_entry_is_detected_with_its_kind() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut failures = Vec::new();
    for format in CATALOGUE {
        for _ in 0..3 {
            // Providers issue bodies that mix letters and digits; the odd
            // random draw without a digit is not one of theirs.
            let token = (0..10)
                .map(|_| generate(format, &mut rng))
                .find(|token| {
                    let body = &token.as_bytes()[format.prefix.len()..];
                    !matches!(format.check, Check::Random) || value::scrambled(body)
                })
                .unwrap();
            let text = sentence(format, &token, &mut rng);
            if find(&text) != Some(format.kind) {
                failures.push(format!("{}: {:?} for {text}", format.kind, find(&text)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_catalogue_has_at_least_eighty_formats() {
    assert!(CATALOGUE.len() >= 80, "{}", CATALOGUE.len());
}

#[test]
fn catalogue_kinds_read_as_a_or_an_provider_thing() {
    for format in CATALOGUE {
        assert!(format.kind.starts_with("a ") || format.kind.starts_with("an "), "{}", format.kind);
    }
}

#[test]
fn tokens_filled_with_placeholders_are_not_reported() {
    let mut rng = Rng(7);
    for format in CATALOGUE {
        let token = generate(format, &mut rng);
        let body_len = token.len() - format.prefix.len();
        for filler in ["x", "X", "0", "*"] {
            let filled = format!("{}{}", std::str::from_utf8(format.prefix).unwrap(), filler.repeat(body_len));
            let text = sentence(format, &filled, &mut rng);
            assert_eq!(find(&text), None, "{text}");
        }
    }
}

#[test]
fn a_github_token_with_a_bad_checksum_is_reported_with_less_confidence() {
    let mut rng = Rng(11);
    let body = rng.string(class::ALNUM, 30);
    let good = checksum::base62_6(checksum::crc32(body.as_bytes()));
    let mut bad = good;
    bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
    let bad = std::str::from_utf8(&bad).unwrap();
    assert_eq!(find(&format!("use ghp_{body}{bad} to push")), Some("a GitHub token with a bad checksum"));
    assert_eq!(find(&format!("npm_{body}{bad}")), Some("an npm token with a bad checksum"));
}

#[test]
fn checksums_agree_with_known_answers() {
    assert_eq!(checksum::crc32(b"123456789"), 0xCBF4_3926);
    // The example in the base62-token documentation: the random part of a
    // real (revoked) GitHub token and its checksum, kept apart here.
    let random = "zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ";
    assert_eq!(&checksum::base62_6(checksum::crc32(random.as_bytes())), b"0mLq17");
    // An identity from the age test kit.
    let age = "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6";
    assert!(checksum::bech32_ok(age.as_bytes()));
    assert!(!checksum::bech32_ok(age.replace("F6", "F7").as_bytes()));
    // Published test keys are not leaks.
    assert_eq!(find(age), None);
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { char::from(TABLE[(n >> (18 - 6 * i)) as usize & 63]) } else { '=' });
        }
    }
    out
}

#[test]
fn every_vendor_credential_is_detected_under_its_name() {
    let mut rng = Rng(41);
    for bound in BOUND {
        let word = String::from_utf8(bound.words[0].to_ascii_uppercase()).unwrap();
        let mut random = |alphabet: u32, len: usize| loop {
            let candidate = rng.string(alphabet, len);
            if value::scrambled(candidate.as_bytes()) {
                break candidate;
            }
        };
        let value = match bound.shape {
            Shape::Run(alphabet, min, _) => random(alphabet, min),
            Shape::Uuid => {
                let hex = random(class::HEX, 32);
                format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
            }
            Shape::Okta => format!("00{}", random(class::URLSAFE, 40)),
            Shape::Mailgun => format!("{}-{}-{}", random(class::HEX, 32), random(class::HEX, 8), random(class::HEX, 8)),
        };
        let text = format!("{word}_CREDENTIAL={value}");
        assert_eq!(find(&text), Some(bound.kind), "{text}");
    }
}

#[test]
fn prefixless_shapes_are_detected() {
    let mut rng = Rng(23);
    let key_lines: String = (0..4).map(|_| rng.string(class::BASE64, 64) + "\n").collect();
    let id = base64(b"123456789012345678").replace('=', "");
    let cases = [
        (
            format!("{}.{}.{}", "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJ1c2VyLTQyIn0", rng.string(class::URLSAFE, 43)),
            "a JSON web token",
        ),
        (format!("bot 7123456789:{}", rng.string(class::URLSAFE, 35)), "a Telegram bot token"),
        (format!("{id}.{}.{}", rng.string(class::URLSAFE, 6), rng.string(class::URLSAFE, 38)), "a Discord bot token"),
        (
            format!("-----BEGIN RSA PRIVATE KEY-----\n{key_lines}-----END RSA PRIVATE KEY-----"),
            "an RSA private key block",
        ),
        (format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{key_lines}"), "an OpenSSH private key block"),
        (format!("-----BEGIN PRIVATE KEY-----\n{key_lines}-----END PRIVATE KEY-----"), "a private key block"),
        (format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{key_lines}"), "a PGP private key block"),
        (
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n{key_lines}"
            ),
            "an RSA private key block",
        ),
        (
            format!(
                "{{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n{}\\n-----END PRIVATE KEY-----\\n\"}}",
                rng.string(class::BASE64, 64),
                rng.string(class::BASE64, 64)
            ),
            "a Google Cloud service account key",
        ),
        (
            format!("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n{key_lines}"),
            "a PuTTY private key",
        ),
        (
            format!("pat {}AZDO{}", rng.string(class::ALNUM, 76), rng.string(class::ALNUM, 4)),
            "an Azure DevOps personal access token",
        ),
        (
            format!("secret {}8Q~{}", rng.string(class::ALNUM, 3), rng.string(class::ALNUM, 34)),
            "a Microsoft Entra client secret",
        ),
        (format!("{}-4e5f-8a9b-c0d1-{}:fx", rng.string(class::HEX, 8), rng.string(class::HEX, 12)), "a DeepL API key"),
        (format!("{}-us21", rng.string(class::HEX, 32)), "a Mailchimp API key"),
        (format!("{}NRAL", rng.string(class::HEX, 36)), "a New Relic license key"),
    ];
    for (text, kind) in cases {
        assert_eq!(find(&text), Some(kind), "{text}");
    }
}

#[test]
fn named_credentials_are_detected() {
    let mut rng = Rng(31);
    let hex32 = rng.string(class::HEX, 32);
    let hex40 = rng.string(class::HEX, 40);
    let aws = rng.string(class::BASE64, 40);
    let cases = [
        ("export DB_PASSWORD=Zk29vQ8rTm4xLp".to_owned(), "a password assignment"),
        ("client_secret = \"q8Zt2kLmN4pX7vRw\"".to_owned(), "a credential assignment"),
        ("{\"password\": \"Tr0ub4dor&3\"}".to_owned(), "a password assignment"),
        ("db:\n  password: Summer2024!\n".to_owned(), "a password assignment"),
        ("Server=db;User Id=sa;Password=Xk3!pq9Lmz;".to_owned(), "a password assignment"),
        ("$config['db_pass'] = 'Kq8#vLm2pX';".to_owned(), "a password assignment"),
        ("'password' => 'Kq8#vLm2pX',".to_owned(), "a password assignment"),
        ("password := \"Kq8#vLm2pX\"".to_owned(), "a password assignment"),
        ("run it with --password=Kq8#vLm2pX".to_owned(), "a password assignment"),
        ("jdbc:mysql://db/app?user=app&password=Kq8vLm2pXz".to_owned(), "a password assignment"),
        ("dbPassword: 'Kq8vLm2pXz'".to_owned(), "a password assignment"),
        ("machine api.internal login deploy password Kq8vLm2pXz".to_owned(), "a password in a netrc entry"),
        ("secret_key_base: 9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6".to_owned(), "a credential assignment"),
        ("\"SecretAccessKey\": \"Xk3pq9LmzQ2w8Rt5Yv1Bn7Cd4Fg6Hj0KlMnOpQrS\"".to_owned(), "an AWS secret access key"),
        (format!("tool --token {hex32}"), "a credential on a command line"),
        ("mysql -u root -pKq8vLm2pXz app".to_owned(), "a password on a command line"),
        ("curl -u admin:Kq8vLm2pXz https://api.internal/v1".to_owned(), "a password on a command line"),
        (format!("Authorization: Basic {}", base64(b"admin:Kq8vLm2pXz")), "an HTTP Basic credential"),
        ("Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e".to_owned(), "a bearer token"),
        ("Authorization: Token 7Hq2mZ9xK4pL8vN3wR6tY1bC".to_owned(), "an Authorization header credential"),
        ("X-API-Key: 7Hq2mZ9xK4pL8vN3wR6tY1bC".to_owned(), "a credential assignment"),
        ("the password is Tr0ub4dor&3".to_owned(), "a password"),
        ("Password for staging: Tr0ub4dor&3.".to_owned(), "a password"),
        ("we changed the admin password to Kq8#vLm2pX yesterday".to_owned(), "a password"),
        (format!("the API key is {hex32}"), "a secret token"),
        (format!("DD_API_KEY={hex32}"), "a Datadog API key"),
        (format!("DD_APP_KEY={hex40}"), "a Datadog application key"),
        (format!("TWILIO_AUTH_TOKEN={hex32}"), "a Twilio auth token"),
        (format!("aws_secret_access_key = {aws}"), "an AWS secret access key"),
        ("HEROKU_API_KEY=3f0e05d9-4eca-4948-a012-b91fe9704bac".to_owned(), "a Heroku API key"),
        (
            "connect to postgres://admin:hunter2pass@db.internal:5432/app".to_owned(),
            "a database connection string with a password",
        ),
        ("git clone https://deploy:Zk29vQ8rTm4x@git.internal/repo.git".to_owned(), "a URL with a password"),
        (
            format!("dsn https://{hex32}:{}@o1.ingest.sentry.io/1", rng.string(class::HEX, 32)),
            "a Sentry DSN with a secret key",
        ),
        ("db.internal:5432:warehouse:analyst:L2xO4oEQ4kUo2Sm~N".to_owned(), "a pgpass entry with a password"),
        ("define( 'DB_PASSWORD', '!uhJo0~Zu8Akn-07IY9' );".to_owned(), "a password assignment"),
        ("<password>53ykTH6zTqCME4JwIkN2237k</password>".to_owned(), "a password assignment"),
        (format!("const API_KEY: &str = \"{}\";", rng.string(class::BASE64, 43)), "a credential assignment"),
        (format!("auth=(\"exporter\", \"{}\"),", rng.string(class::HEX, 64)), "a credential assignment"),
        (format!("      value: Basic {}", base64(b"jenkins:Kq8vLm2pXz")), "an HTTP Basic credential"),
        (
            "machine artifacts.internal\n  login deployer\n  password 718ZeAjtyGKdewC_B".to_owned(),
            "a password in a netrc entry",
        ),
        ("The router login is admin / f9EiJbCNK4Ij^; we need it again.".to_owned(), "a password"),
        ("SFTP: host sftp.vendor.internal, user upload, password Kr%_PGkO1HQ+w9U.".to_owned(), "a password"),
        ("Root password for the old box (mysql-legacy-2) is Xr1_G7Rat?l4N@ad@ now.".to_owned(), "a password"),
        ("VPN pre-shared key for the site-to-site tunnel: o3fBp=OH+JEKH&xB@".to_owned(), "a secret token"),
        (
            format!("account SID AC{}, auth token `{}`.", rng.string(class::HEX, 32), rng.string(class::HEX, 32)),
            "a Twilio account SID and auth token",
        ),
        (format!("I asked for the Datadog API key twice. They gave it on Tuesday: {hex32}"), "a secret token"),
        // A catalogued token assigned to a name is named by its format.
        (format!("OPENAI_API_KEY=sk-proj-{}", rng.string(class::URLSAFE, 64)), "an OpenAI project API key"),
    ];
    for (text, kind) in cases {
        assert_eq!(find(&text), Some(kind), "{text}");
    }
}

#[test]
fn look_alikes_are_not_reported() {
    let cases = [
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "use ghp_abcdefghijklmnopqrstuvwxyz0123456789 to push",
        "key AKIAIOSFODNN7EXAMPLE for staging",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        "curl -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: https://api.stripe.com/v1/charges",
        "publishable key pk_live_51H8bGfJm3kLq9Zx2Vn7Yw4Tc",
        "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx",
        "bot token xoxb-1234567890-abcdefghij",
        "token: xoxb-your-token-here",
        "The password policy needs 12 characters; password: see vault.",
        "API keys are in the vault under /prod; rotate the token monthly. Ask the task-runner.",
        "password: required",
        "password = os.environ[\"DB_PASSWORD\"]",
        "const apiKey = process.env.API_KEY;",
        "api_key = settings.STRIPE_SECRET",
        "password = getpass()",
        "password = user_password",
        "token = get_token()?;",
        "password: string;",
        "password: Option<String>,",
        "api_key: ${API_KEY}",
        "token: {{ vault_token }}",
        "TOKEN=$(cat /run/secrets/token)",
        "password = \"<your-password>\"",
        "PASSWORD=changeme",
        "api_key = \"YOUR_API_KEY\"",
        "secret: \"[REDACTED]\"",
        "password: \"********\"",
        "password: !vault |",
        "password: vault:secret/data/db#password",
        "private_key: /etc/ssl/private/server.key",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg...\n-----END PRIVATE KEY-----",
        "postgres://user:password@localhost:5432/db",
        "postgres://postgres:postgres@localhost:5432/db",
        "mongodb://admin:${MONGO_PASSWORD}@mongo:27017",
        "redis://:****@cache:6379",
        "https://user:pass@example.com/path",
        "Authorization: Bearer <token>",
        "Authorization: Bearer $TOKEN",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        "id: 123e4567-e89b-12d3-a456-426614174000",
        "image: app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "token_count: 4096",
        "max_tokens: 2048",
        "secret_name: prod-db-credentials",
        "password_min_length: 12",
        "next_page_token: CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA",
        "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
        "12345678:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "The token is rotated monthly.",
        "the password is at least twelve characters long",
        "the password is stored in 1Password under Staging.",
        "Use git@github.com:org/repo.git for pushes.",
        "see https://docs.internal/api?token=abc",
        "AIzaSyEXAMPLEEXAMPLEEXAMPLEEXAMPLE1234",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "Bearer tokens expire after an hour",
        "if password == other_password { return }",
        "mysql -u root -p app",
        "curl -u $USER:$TOKEN https://api.internal",
        "The key is to keep answers short.",
        "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAA",
        "Our AWS account is 123456789012 and the role is arn:aws:iam::123456789012:role/Deploy.",
        "Heading: Configuration\nThe setting `secret_key_base` is read from the environment.",
        "pip install sk-learn-compatible-estimator-wrapper-v2",
        "MYSQL_ROOT_PASSWORD: secret123",
        "db_password: ENC[AES256_GCM,data:P2aI543SCfCHm1HJItx9oNcO,iv:73tIkF8dBn0jbfEUmSXvHE24lNLSodXAZ/uQNismeL4=,type:str]",
        "Map widget uses the public token `pk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6IjZtMjljMnkyZjk2eXJvODRxM2hhdG12NTIifQ.4eLizBhw7Ke0sMNGotFWNC`.",
        "CONTRIBUTING.md shows `postgres://user:password@localhost:5432/dev` as the example.",
        "Fixed in commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 after the token rotation.",
        "The login is admin for the staging box.",
        "We rotated the API token on Monday. Request id: 7c9e6679-7425-40de-944b-e07cc4f0e3c3",
        "api_key: 'abcd1234abcd1234'",
        "POSTGRES_PASSWORD: example",
        "Password must contain: uppercase, lowercase, digits",
        "the password reset link expires in 24 hours",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "call re_generate_AllTheThingsNowPlease() after the merge",
        "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",
        "the fixture file is api-client-test-fixtures-for-staging.json",
    ];
    for text in cases {
        assert_eq!(find(text), None, "{text}");
    }
}

#[test]
fn ordinary_prose_is_not_reported() {
    assert_eq!(find(PROSE), None);
}

/// A long note of the kind agents write, heavy on configuration words.
const PROSE: &str = "The deploy pipeline reads its credentials from Vault at start-up; \
nothing secret is kept in the repository. To rotate the database password, open the runbook, \
generate a new one with `openssl rand`, store it under secret/data/db and restart the workers. \
The API token for the billing service expires every ninety days: the on-call engineer renews it \
and updates the `BILLING_TOKEN` entry in the secret store. Password: see vault. Token: ask the \
platform team. The key point is that no one copies a key into a ticket, a chat message or a memory \
note. When a test needs a token it uses the fixtures in tests/fixtures, which are generated per run. \
Our retry policy is three attempts with exponential back-off starting at 200 ms; timeouts are 30 s \
for reads and 120 s for writes. Logs go to Loki with a retention of 14 days, metrics to Prometheus. \
The user prefers short answers, British spelling and ISO dates such as 2024-05-01. Commit messages \
follow the imperative mood: 'Fix race in claim loop', not 'Fixed'. Version 2.3.1 shipped on \
2024-04-12 with migration 0007; the checksum of the release tarball is sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.";

/// Configuration-like text, dense with `=` and `:`.
const CONFIG: &str = "[server]\nhost = \"0.0.0.0\"\nport = 8080\nworkers: 4\ntimeout_ms = 30000\n\
log_level: info\ndatabase_url = env(\"DATABASE_URL\")\npassword_file: /run/secrets/db\n\
retry = { attempts = 3, backoff = \"exponential\" }\nfeatures: [search, export]\n";

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn scanning_six_kilobytes_is_fast() {
    for (label, sample) in [("prose", PROSE), ("configuration", CONFIG)] {
        let text: String = sample.repeat(6 * 1024 / sample.len() + 1);
        assert_eq!(find(&text), None);
        let runs = 5000;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            std::hint::black_box(find(std::hint::black_box(&text)));
        }
        let micros = start.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
        println!("{label}, {} bytes: {micros:.1} µs per scan", text.len());
    }
}
